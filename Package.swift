// swift-tools-version: 6.2
import PackageDescription

/// Settings every Orzo target shares: Swift 6 language mode (complete strict
/// concurrency), warnings as errors, and the upcoming features that keep the
/// code honest about existentials and imports.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "orzo",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orzo", targets: ["orzo"]),
        .library(name: "Rados", targets: ["Rados"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "Timeseries", targets: ["Timeseries"]),
        .library(name: "Storage", targets: ["Storage"]),
        .library(name: "StorageCeph", targets: ["StorageCeph"]),
        .library(name: "GnocchiAPI", targets: ["GnocchiAPI"]),
        .library(name: "StorageFiles", targets: ["StorageFiles"]),
        .library(name: "OrzoClient", targets: ["OrzoClient"]),
        .library(name: "WireProtocol", targets: ["WireProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C libraries, linked directly: librados-dev ships no pkg-config file, and
        // libzmq's pkg-config flags include -isystem, which SwiftPM refuses.
        .systemLibrary(name: "CRados", providers: [.apt(["librados-dev"])]),
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        // glibc's malloc.h: the heap's free bytes and malloc_trim (HeapTrimmer).
        .systemLibrary(name: "CMalloc"),

        // Thin Swift wrappers: the only modules that touch C.
        .target(name: "Rados", dependencies: ["CRados"], swiftSettings: strictSettings),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: strictSettings),

        // The timeseries engine: aggregation, archive policies, blob format. No I/O.
        .target(name: "Timeseries", swiftSettings: strictSettings),

        .executableTarget(
            name: "orzo",
            dependencies: [
                "Rados",
                "ZeroMQ",
                "Services",
                "Storage",
                "Timeseries",
                "WireProtocol",
                "StorageCeph",
                "StorageFiles",
                "GnocchiAPI",
                "Statsd",
                "OrzoClient",
                "OrzoCommandLine",
                "Telemetry",
                "OrzoConfig",
                "BenchReport",
                "AccessControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // Storage interfaces, the processing cycle, and the memory backend.
        .target(name: "Storage", dependencies: ["Timeseries"], swiftSettings: strictSettings),

        // The Ceph backend, for fleets.
        .target(
            name: "StorageCeph",
            dependencies: ["Storage", "Rados", "Timeseries", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),

        // Gnocchi's REST API v1 over HTTP/1.1 (docs/http-api.md).
        .target(
            name: "GnocchiAPI",
            dependencies: [
                "Services", "Storage", "Timeseries", "WireProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),

        // The file backend, the embedded default.
        .target(
            name: "StorageFiles",
            dependencies: [
                "Storage", "Timeseries", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),

        // The wire protocol: message parsing and validation, JSON bodies. No I/O.
        .target(name: "WireProtocol", dependencies: ["Storage", "Timeseries"], swiftSettings: strictSettings),

        // The services: ingest front workers, aggregation workers, the query service.
        .target(
            name: "Services",
            dependencies: [
                "WireProtocol", "Storage", "Timeseries", "ZeroMQ", "CMalloc", "AccessControl",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings),

        // CURVE keys, the ZAP handler and client roles: who may reach which socket.
        .target(
            name: "AccessControl",
            dependencies: ["ZeroMQ", "CZeroMQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),

        // The Swift client library, for agents and query clients.
        .target(
            name: "OrzoClient", dependencies: ["WireProtocol", "Storage", "Timeseries", "ZeroMQ", "AccessControl"],
            swiftSettings: strictSettings),

        // The command line's own formats: timestamp and measure arguments, reply tables.
        .target(
            name: "OrzoCommandLine", dependencies: ["OrzoClient", "WireProtocol", "Storage", "Timeseries"],
            swiftSettings: strictSettings),

        // One configuration: every setting from a flag, the environment, a file or its default.
        .target(
            name: "OrzoConfig",
            dependencies: [
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"), .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings),

        // Prometheus metrics: the exporter, the /metrics endpoint, storage instrumentation.
        .target(
            name: "Telemetry",
            dependencies: [
                "Storage", "Timeseries", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),

        // Benchmark reports: latency summaries, CSV, SVG plots, a progress bar (`orzo bench`).
        .target(name: "BenchReport", swiftSettings: strictSettings),

        // The statsd bridge: UDP statsd lines in, acknowledged puts out.
        .target(
            name: "Statsd",
            dependencies: [
                "OrzoClient", "AccessControl", "Storage", "Timeseries", "WireProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings),

        // Shared by the storage tests and the process they start and kill.
        .target(name: "OrzoTestSupport", dependencies: ["Storage", "Timeseries"], swiftSettings: strictSettings),
        .executableTarget(
            name: "orzo-storage-harness",
            dependencies: ["OrzoTestSupport", "Storage", "StorageCeph", "StorageFiles", "Rados", "Timeseries"],
            swiftSettings: strictSettings),

        // The fuzz targets (docs/reliability.md): libFuzzer with deploy/fuzz.sh, corpus replay otherwise.
        .executableTarget(
            name: "orzo-fuzz",
            dependencies: ["Timeseries", "WireProtocol", "Storage", "StorageFiles", "Statsd", "OrzoConfig"],
            swiftSettings: strictSettings),

        // Benchmarks of the engine: swift run -c release orzo-bench
        .executableTarget(
            name: "orzo-bench", dependencies: ["Timeseries", "OrzoTestSupport"], swiftSettings: strictSettings),

        // Storage benchmarks: swift run -c release orzo-storage-bench --data-dir DIR | --ceph-conf CONF
        .executableTarget(
            name: "orzo-storage-bench",
            dependencies: ["OrzoTestSupport", "Storage", "StorageCeph", "StorageFiles", "Rados", "Timeseries"],
            swiftSettings: strictSettings),

        // Service benchmarks: swift run -c release orzo-service-bench
        .executableTarget(
            name: "orzo-service-bench",
            dependencies: ["Services", "Storage", "StorageFiles", "Timeseries", "WireProtocol", "ZeroMQ"],
            swiftSettings: strictSettings),

        .testTarget(name: "RadosTests", dependencies: ["Rados", "OrzoTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "OrzoTestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "OrzoClient", "Services", "WireProtocol", "Storage", "StorageFiles", "StorageCeph", "Rados",
                "GnocchiAPI",
                "Timeseries",
                "ZeroMQ",
            ],
            swiftSettings: strictSettings),
        .testTarget(name: "BenchReportTests", dependencies: ["BenchReport"], swiftSettings: strictSettings),
        .testTarget(
            name: "OrzoCommandLineTests", dependencies: ["OrzoCommandLine", "WireProtocol", "Timeseries"],
            swiftSettings: strictSettings),
        .testTarget(name: "OrzoConfigTests", dependencies: ["OrzoConfig"], swiftSettings: strictSettings),
        .testTarget(name: "StatsdTests", dependencies: ["Statsd", "Timeseries"], swiftSettings: strictSettings),
        .testTarget(
            name: "WireProtocolTests", dependencies: ["WireProtocol", "Storage", "Timeseries"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "StorageCeph", "StorageFiles", "Rados", "Timeseries", "OrzoTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "TimeseriesTests", dependencies: ["Timeseries", "OrzoTestSupport"], resources: [.copy("Fixtures")],
            swiftSettings: strictSettings),
    ]
)
