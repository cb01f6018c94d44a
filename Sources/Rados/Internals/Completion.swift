import CRados

/// The outcome of an asynchronous librados operation.
struct CompletionResult: Sendable {
    /// The operation's return value: 0 or a positive count on success, a negative errno on failure.
    let returnValue: Int32
    /// The object's version after the operation (`rados_aio_get_version`).
    let version: UInt64
}

/// Holds the continuation while librados runs the operation. Retained once for
/// the C callback, which takes that reference back exactly once.
private final class CompletionBox: Sendable {
    let continuation: CheckedContinuation<CompletionResult, Never>
    init(_ continuation: CheckedContinuation<CompletionResult, Never>) {
        self.continuation = continuation
    }
}

/// Runs an asynchronous librados call and suspends until librados reports completion,
/// without blocking a thread.
///
/// `submit` receives a fresh completion and must pass it to one `rados_aio_*` call,
/// returning that call's result. The completion callback runs on a librados finisher
/// thread; it only releases the completion and resumes the task, and never blocks.
/// The caller keeps every buffer the call uses alive until this returns.
func withRadosCompletion(_ submit: (rados_completion_t) -> Int32) async -> CompletionResult {
    await withCheckedContinuation { (continuation: CheckedContinuation<CompletionResult, Never>) in
        let box = Unmanaged.passRetained(CompletionBox(continuation))
        var completion: rados_completion_t?
        let created = rados_aio_create_completion2(
            box.toOpaque(),
            { completion, argument in
                let box = Unmanaged<CompletionBox>.fromOpaque(argument!).takeRetainedValue()
                let result = CompletionResult(
                    returnValue: rados_aio_get_return_value(completion),
                    version: rados_aio_get_version(completion)
                )
                rados_aio_release(completion)
                box.continuation.resume(returning: result)
            },
            &completion
        )
        guard created >= 0, let completion else {
            box.release()
            continuation.resume(returning: CompletionResult(returnValue: created < 0 ? created : -12, version: 0))
            return
        }
        let submitted = submit(completion)
        if submitted < 0 {
            // librados never calls back for an operation it refused to start.
            rados_aio_release(completion)
            box.release()
            continuation.resume(returning: CompletionResult(returnValue: submitted, version: 0))
        }
    }
}
