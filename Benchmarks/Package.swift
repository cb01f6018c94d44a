// swift-tools-version: 6.2
// Stage benchmarks of Orzo with ordo-one/benchmark (package-benchmark): the
// codec, the processing step, query encoding, and the file store's cost per
// metric for the ingest and for a worker. Not part of the tests (timing
// belongs in benchmarks). Run from this directory:
//
//   swift package benchmark                                  # run and print
//   swift package benchmark thresholds check                 # compare with Thresholds/ (a regression fails)
//   swift package benchmark thresholds update                # after an intended change
//
// The package above is referred to by path; its identity is the name of the
// directory it is checked out in, which this manifest reads.
import Foundation
import PackageDescription

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "StageBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Timeseries", package: root.lastPathComponent),
                .product(name: "WireProtocol", package: root.lastPathComponent),
                .product(name: "Storage", package: root.lastPathComponent),
                .product(name: "StorageFiles", package: root.lastPathComponent),
            ],
            path: "Benchmarks/StageBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
