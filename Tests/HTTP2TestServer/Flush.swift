#if canImport(Glibc)
    import Glibc
#endif

func fflushStandardOutput() {
    fflush(nil)
}
