import Testing

@Test func placeholderUnpackTests() {}
