import Testing
@testable import OCI

@Suite struct JSONValueEncoderTests {
    struct Inner: Codable, Equatable { var name: String; var tags: [String] }
    struct Outer: Codable, Equatable {
        var id: Int64
        var size: UInt64
        var ratio: Double
        var ok: Bool
        var missing: String?
        var present: String?
        var inner: Inner
        var list: [Inner]
        var labels: [String: String]
        var raw: JSONValue
    }

    @Test func keepsDeclarationOrderAndOmitsNilOptionals() throws {
        let o = Outer(id: -3, size: UInt64.max, ratio: 0.5, ok: true, missing: nil, present: "x",
                      inner: Inner(name: "n", tags: ["a", "b"]), list: [], labels: ["z": "1", "a": "2", "m": "3"],
                      raw: ["k": [1, nil, true]])
        let text = try JSONValueEncoder().encodeText(o)
        #expect(text == #"{"id":-3,"size":18446744073709551615,"ratio":0.5,"ok":true,"present":"x","inner":{"name":"n","tags":["a","b"]},"list":[],"labels":{"a":"2","m":"3","z":"1"},"raw":{"k":[1,null,true]}}"#)
    }

    @Test func roundTripsThroughTheDecoder() throws {
        let o = Outer(id: Int64.min, size: 7, ratio: 1e-7, ok: false, missing: "m", present: nil,
                      inner: Inner(name: "é\n\"", tags: []), list: [Inner(name: "x", tags: ["y"])], labels: [:], raw: nil)
        let v = try JSONValueEncoder().encode(o)
        let back = try JSONValueDecoder().decode(Outer.self, from: try JSONParser.parse(JSONWriter.write(v)))
        #expect(back == o)
    }

    @Test func writesIntegralDoublesWithoutFraction() throws {
        #expect(try JSONValueEncoder().encode(2.0) == .number("2"))
        #expect(try JSONValueEncoder().encodeText([1.5, 100.0, -0.25]) == "[1.5,100,-0.25]")
        #expect(try JSONValueEncoder().encodeText(Float(0.1)) == "0.1")
    }

    @Test func nonFiniteNumberNamesTheField() {
        struct T: Encodable { var a: [Double] }
        do {
            _ = try JSONValueEncoder().encode(T(a: [1, .infinity]))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("a[1]"))
        }
    }

    @Test func customEncodingWithNestedContainers() throws {
        struct Custom: Encodable {
            enum K: String, CodingKey { case head, body, list }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: K.self)
                try c.encode("h", forKey: .head)
                var body = c.nestedContainer(keyedBy: K.self, forKey: .body)
                try body.encode(1, forKey: .head)
                var list = c.nestedUnkeyedContainer(forKey: .list)
                try list.encode("a")
                var sub = list.nestedContainer(keyedBy: K.self)
                try sub.encodeNil(forKey: .head)
                try c.encode("h2", forKey: .head)  // a repeated key replaces in place
            }
        }
        #expect(try JSONValueEncoder().encodeText(Custom()) == #"{"head":"h2","body":{"head":1},"list":["a",{"head":null}]}"#)
    }

    @Test func emptyStructIsAnEmptyObjectAndEnumsUseRawValues() throws {
        struct E: Encodable {}
        enum Color: String, Encodable { case red }
        #expect(try JSONValueEncoder().encodeText(E()) == "{}")
        #expect(try JSONValueEncoder().encodeText([Color.red]) == #"["red"]"#)
        #expect(try JSONValueEncoder().encodeText(Optional<Int>.none) == "null")
    }
}
