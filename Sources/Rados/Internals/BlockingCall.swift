import Dispatch

/// Runs a librados call that has no asynchronous form (connect, pool creation,
/// `rados_list_lockers`, `rados_break_lock`) on a Dispatch worker thread, so that
/// it never blocks a thread of Swift's cooperative pool.
@discardableResult
func runBlocking<T: Sendable>(
    _ body: @escaping @Sendable () throws(RadosError) -> T
) async throws(RadosError) -> T {
    let result: Result<T, RadosError> = await withCheckedContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            do throws(RadosError) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
