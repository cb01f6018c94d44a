import Foundation
import Testing
import WireProtocol

@Suite("Wire protocol: JSON writer", .timeLimit(.minutes(5)))
struct JSONWriterTests {
    @Test("numbers read by JSONSerialization are written back as numbers, booleans as booleans")
    func roundTrip() throws {
        let text = #"{"a":0,"b":1,"c":true,"d":false,"e":2.5,"f":[0,1,true],"g":-3}"#
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let written = String(decoding: JSONWriter.encode(parsed), as: UTF8.self)
        #expect(written == text)
    }

    @Test("Swift values: Bool, Int, Double")
    func swiftValues() {
        let written = String(decoding: JSONWriter.encode([true, false, 0, 1, 1.5] as [Any]), as: UTF8.self)
        #expect(written == "[true,false,0,1,1.5]")
    }
}
