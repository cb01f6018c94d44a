import Glibc
import Storage

/// The few POSIX file operations the file backend needs, each turning a failure
/// into a `StorageError` that names the call and the path.
enum POSIX {
    static func error(_ call: String, _ path: String) -> StorageError {
        .unavailable("\(call) \(path): \(String(cString: strerror(errno))) (errno \(errno))")
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw error("open", path) }
        }
    }

    /// Writes all of `bytes` at the current offset.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw error("write", path)
                }
                written += result
            }
        }
    }

    /// A descriptor of the file, or `nil` if it does not exist.
    static func openIfExists(_ path: String, _ flags: Int32) throws -> Int32? {
        do {
            return try open(path, flags)
        } catch {
            if errno == ENOENT { return nil }
            throw error
        }
    }

    /// The whole file, or `nil` if it does not exist.
    static func readAll(_ path: String) throws -> [UInt8]? {
        guard let fd = try openIfExists(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        return try readAll(fd: fd, path)
    }

    static func readAll(fd: Int32, _ path: String, from offset: Int = 0) throws -> [UInt8] {
        var result = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var position = offset
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, off_t(position)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            if count == 0 { return result }
            result += chunk[0..<count]
            position += count
        }
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    static func read(_ fd: Int32, count: Int, at offset: Int, _ path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes {
                Glibc.pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            if result == 0 { break }
            done += result
        }
        bytes.removeSubrange(done...)
        return bytes
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, _ path: String) throws {
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = Glibc.pwrite(
                    fd, buffer.baseAddress! + written, buffer.count - written, off_t(offset + written))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw error("pwrite", path)
                }
                written += result
            }
        }
    }

    static func fsync(_ fd: Int32, _ path: String) throws {
        guard Glibc.fsync(fd) == 0 else { throw error("fsync", path) }
    }

    /// Makes a directory entry change (create, rename, unlink) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path)
    }

    /// Writes a new file (truncating one of that name), without syncing it.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        try writeAll(fd, bytes, path)
    }

    /// Makes everything written on the filesystem holding `path` durable: file
    /// data, inodes and directory entries, in one journal commit (syncfs(2),
    /// which reports write-back errors since Linux 5.8).
    static func syncFilesystem(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        Failpoint.filesSync.hit()
        guard syncfsFunction(fd) == 0 else { throw error("syncfs", path) }
    }

    /// glibc's syncfs, which Swift's Glibc module does not declare (it needs _GNU_SOURCE).
    private static let syncfsFunction: @convention(c) (Int32) -> Int32 = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else {
            fatalError("glibc without syncfs")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// Writes a file so that, whatever happens, `path` holds either its old
    /// content or all of the new one: a temporary file, fsync, rename, fsync of
    /// the directory.
    /// With `durableRename` false the directory is not synced: the new content is
    /// durable before it takes the name, but the rename itself may be lost in a
    /// crash, leaving the old file (for when the old file is as good).
    static func replaceAtomically(_ path: String, with bytes: [UInt8], durableRename: Bool = true) throws {
        let directory = String(path[..<path.lastIndex(of: "/")!])
        let temporary = "\(path).tmp.\(getpid())"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try writeAll(fd, bytes, temporary)
            try fsync(fd, temporary)
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let failure = error("rename", path)
            unlink(temporary)
            throw failure
        }
        if durableRename { try syncDirectory(directory) }
    }

    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw error("mkdir", prefix) }
        }
    }

    /// Entries of a directory (not "." or ".."), or none if it does not exist.
    static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw error("opendir", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Modification time in nanoseconds since the epoch, or nil if absent.
    static func modificationTime(_ path: String) -> Int64? { modificationTimeAndSize(path)?.time }

    /// One stat: the modification time (ns since the epoch) and the size in bytes.
    static func modificationTimeAndSize(_ path: String) -> (time: Int64, size: Int)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec), Int(info.st_size))
    }

    /// Whether the open file is still the one at `path` (not removed, replaced or moved).
    static func isCurrent(_ fd: Int32, _ path: String) -> Bool { currentSize(fd, path) != nil }

    /// The open file's size if it is still the file at `path` (``isCurrent(_:_:)``),
    /// from the same `fstat`; nil if it was moved, replaced or removed.
    static func currentSize(_ fd: Int32, _ path: String) -> Int? {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, open.st_nlink > 0, stat(path, &named) == 0, open.st_ino == named.st_ino,
            open.st_dev == named.st_dev
        else { return nil }
        return Int(open.st_size)
    }

    // Open-file-description locks (Linux): owned by the open file, not the process,
    // so two descriptors in one process exclude each other too, and released by
    // the kernel when the process dies.
    static let F_OFD_SETLK: Int32 = 37

    /// Tries to lock bytes `[start, start + length)` for writing; false if another holds them.
    static func tryLockRange(_ fd: Int32, start: Int, length: Int) throws -> Bool {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(start)
        lock.l_len = off_t(length)
        lock.l_pid = 0
        if fcntl(fd, F_OFD_SETLK, &lock) == 0 { return true }
        if errno == EAGAIN || errno == EACCES { return false }
        throw error("fcntl(F_OFD_SETLK)", "fd \(fd)")
    }

    static func unlockRange(_ fd: Int32, start: Int, length: Int) {
        var lock = flock()
        lock.l_type = Int16(F_UNLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(start)
        lock.l_len = off_t(length)
        _ = fcntl(fd, F_OFD_SETLK, &lock)
    }
}
