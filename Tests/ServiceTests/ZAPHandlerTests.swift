import AccessControl
import Foundation
import Testing
import ZeroMQ

/// The ZAP handler and the `User-Id` of received messages, on real sockets.
@Suite("ZAP handler: every message of an admitted client carries its role", .timeLimit(.minutes(1)))
struct ZAPHandlerTests {
    @Test("ten clients, messages of every size: each one's User-Id is role:name")
    func userIDs() async throws {
        let directory = "/tmp/orzo-zap-\(UInt64.random(in: 0..<UInt64.max))"
        mkdir(directory, 0o700)
        _ = try KeyFiles.generate(base: "\(directory)/server")
        let client = try KeyFiles.generate(base: "\(directory)/client")
        try "\(client) agent zap-test\n".write(toFile: "\(directory)/allowed", atomically: true, encoding: .utf8)
        let security = try ServerSecurity(
            secretKeyFile: "\(directory)/server.secret", allowedKeysFile: "\(directory)/allowed")
        let context = try ZMQContext()
        let zap = try ZAPHandler(context: context, security: security)
        defer { zap.stop() }
        let router = try ZMQSocket(context, type: .router)
        try security.configure(router)
        try router.bind("ipc://\(directory)/router")
        let clientSecurity = ClientSecurity(
            serverPublicKey: security.serverKeys.publicKey,
            clientKeys: try KeyFiles.readSecret("\(directory)/client.secret"))
        var dealers: [ZMQSocket] = []
        for _ in 0..<10 {
            let dealer = try ZMQSocket(context, type: .dealer)
            try clientSecurity.configure(dealer)
            try dealer.connect("ipc://\(directory)/router")
            dealers.append(dealer)
        }
        var wrong: [String] = []
        for size in [10, 100, 1600, 16_000, 160_000] {
            for dealer in dealers {
                #expect(
                    try await dealer.send([Array("v".utf8), [UInt8](repeating: 7, count: size)], timeout: .seconds(5)))
            }
            for index in dealers.indices {
                // Half of them after ZMQ_EVENTS, which makes libzmq prefetch the message and
                // drop the metadata from its routing-id frame (found by the CURVE benchmark).
                if index % 2 == 0 { _ = try router.events }
                let message = try #require(try await router.receiveMessage(timeout: .seconds(10)))
                if message.userID != "agent:zap-test" { wrong.append("\(size): \(message.userID ?? "nil")") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }
}

@Test("a public key argument that is a 40-character path is read as a file, not taken for a key")
func fortyCharacterPath() throws {
    let directory = "/tmp/orzo-curve-bench-\(UInt32.random(in: 10_000..<100_000))"
    mkdir(directory, 0o700)
    let key = try KeyFiles.generate(base: "\(directory)/abcde")
    let path = "\(directory)/abcde.public"  // 40 characters, all of the Z85 alphabet
    #expect(path.count == 40 && Z85.isKey(path))
    #expect(try KeyFiles.publicKey(path) == key)
    #expect(try KeyFiles.publicKey(key) == key)
}
