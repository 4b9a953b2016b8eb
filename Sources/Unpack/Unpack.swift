// Unpack: see docs/berthd.md (issue 5).
