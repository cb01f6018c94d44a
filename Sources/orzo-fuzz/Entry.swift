import Foundation

// Two builds of one target (docs/reliability.md):
// - with the fuzzer (deploy/fuzz.sh: -sanitize=fuzzer,address -D FUZZING), libFuzzer
//   owns main and calls LLVMFuzzerTestOneInput; ORZO_FUZZ_TARGET picks the target;
// - without it (the normal build), `orzo-fuzz TARGET FILE...` runs each file once
//   through the target: the committed corpora and every crash found, as regression
//   tests (FuzzCorpusTests).

/// The target of this process, from ORZO_FUZZ_TARGET.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["ORZO_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(
            Data("ORZO_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selectedTarget.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if FUZZING
    // SwiftPM links an executable's entry point as `<module>_main` and points `main`
    // at it; in the fuzzing build that entry hands control to libFuzzer's driver.
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    @_cdecl("orzo_fuzz_main")
    func fuzzingMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        _ = selectedTarget  // refuse a missing or unknown target before fuzzing starts
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
    }
#else
    @main
    struct Replay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            if arguments.first == "--write-seeds", let directory = arguments.dropFirst().first {
                writeBinarySeeds(directory)
                return
            }
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
                print("usage: orzo-fuzz TARGET FILE|DIRECTORY...  (targets: \(FuzzTarget.allCases.map(\.rawValue)))")
                exit(2)
            }
            var count = 0
            for path in arguments.dropFirst() {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
                let files =
                    isDirectory.boolValue
                    ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map {
                        "\(path)/\($0)"
                    }
                    : [path]
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    target.run(Array(data))
                    count += 1
                }
            }
            print("\(name): \(count) inputs replayed, no crash")
        }
    }
#endif
