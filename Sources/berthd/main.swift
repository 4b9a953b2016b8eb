print("berthd: not built yet")
