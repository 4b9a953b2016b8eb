import Testing

@Test func placeholderContentTests() {}
