import Testing

@Test func placeholderManagerTests() {}
