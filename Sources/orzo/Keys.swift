import AccessControl
import ArgumentParser
import Foundation

extension Orzo {
    /// CURVE keys for servers and clients (docs/security.md).
    struct KeysCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys", abstract: "Generate CURVE key pairs for servers and clients.",
            subcommands: [Generate.self])

        struct Generate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a new key pair: NAME.secret (mode 0600) and NAME.public.",
                discussion: """
                    A server's NAME.secret goes to security.server_secret_key_file and its NAME.public to its \
                    clients; a client's NAME.public goes into the server's allowed keys file with a role \
                    (agent, reader or admin), and its NAME.secret stays with the client (--client-key). \
                    Existing files are never overwritten. Prints the public key.
                    """)
            @Argument(help: ArgumentHelp("Path and name of the files, without extension.", valueName: "name"))
            var name: String

            func run() async throws {
                do {
                    print(try KeyFiles.generate(base: name))
                } catch {
                    throw ValidationError("\(error)")
                }
            }
        }
    }
}
