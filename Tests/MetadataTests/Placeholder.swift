import Testing

@Test func placeholderMetadataTests() {}
