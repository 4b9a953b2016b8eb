print("berth: not built yet")
