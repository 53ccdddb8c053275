package machine

func outb(port uint16, v uint8)
func inb(port uint16) uint8
func outl(port uint16, v uint32)
func outw(port uint16, v uint16)
func inw(port uint16) uint16
func inl(port uint16) uint32
func rdtsc() uint64
func rdmsr(msr uint32) uint64
func wrmsr(msr uint32, v uint64)
func cpuid(leaf, sub uint32) (a, b, c, d uint32)
func halt()
func cli()
func pause()
func readCR2() uintptr
func readCR3() uintptr
func writeCR3(v uintptr)
func readCR4() uintptr
func writeCR4(v uintptr)
func invlpg(va uintptr)
func zeroPage(va uintptr)
func copyWords(dst, src, n uintptr)
func rdrand() (v uint64, ok bool)
func xsetbv(idx uint32, v uint64)
func lgdt(desc uintptr)
func lidt(desc uintptr)
func ltr(sel uint16)
func imageEnd() uintptr
func pclntabAddr() uintptr
func textStart() uintptr
func copyUser(dst, src, n uintptr) (fault uintptr)
func copyUserFixup()
func copyUserAddr() uintptr
func copyUserEnd() uintptr
func copyUserFixupAddr() uintptr

//go:nosplit
func rdmsrFS() uintptr { return uintptr(rdmsr(msrFSBase)) }
