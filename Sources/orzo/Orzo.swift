import ArgumentParser
import Rados
import ZeroMQ

@main
struct Orzo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orzo",
        abstract: "Orzo: a time-series database for metrics, built on Gnocchi's design.",
        subcommands: [
            Serve.self, Ingest.self, Metricd.self, Query.self, ArchivePolicyCommand.self, ArchivePolicyRuleCommand.self,
            MetricCommand.self, MeasuresCommand.self, AggregatesCommand.self, StatusCommand.self, StatsdCommand.self,
            ConfigCommand.self, Check.self, KeysCommand.self, Bench.self, Http.self,
            Info.self,
        ]
    )
}

extension Orzo {
    /// Prints what this build links and can do; the first thing to run on a new host.
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the versions of the libraries Orzo runs on and their capabilities."
        )

        func run() async throws {
            let rados = RadosCluster.libraryVersion
            let zmq = ZMQContext.libraryVersion
            print("orzo        \(OrzoVersion.string)")
            print("librados    \(rados.major).\(rados.minor).\(rados.extra)")
            print("libzmq      \(zmq.major).\(zmq.minor).\(zmq.patch)")
            for capability in ["curve", "ipc", "draft"] {
                print(
                    "zmq \(capability)\(String(repeating: " ", count: 8 - capability.count))\(ZMQContext.has(capability) ? "yes" : "no")"
                )
            }
        }
    }
}

enum OrzoVersion {
    static let string = "0.1.0-dev"
}
