import Glibc

/// CPU time (user + system, all threads) of this process and of the server, so that throughput
/// rounds can say which side spends the cycles.
enum CPUTime {
    /// This process: the client in full-stack rounds, the backend in backend rounds.
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Another process, from utime and stime in /proc/PID/stat; nil once it is gone.
    static func seconds(of pid: Int32) -> Double? {
        guard let bytes = BenchService.readFile("/proc/\(pid)/stat"), let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else {
            return nil
        }
        // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 12, let user = Double(String(decoding: fields[11], as: UTF8.self)),
            let system = Double(String(decoding: fields[12], as: UTF8.self))
        else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
