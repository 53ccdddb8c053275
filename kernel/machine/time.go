package machine

import (
	"math/bits"
	"unsafe"
)

// Time: the TSC is the clock. Its frequency comes from kvmclock's pvclock
// scale under KVM, else from CPUID leaf 0x15, else from calibration against
// the LAPIC timer (calibrate). The LAPIC timer (one-shot, or
// TSC-deadline when the CPU has it) delivers vector 32 at the next event.
// Wall-clock time is the CMOS RTC read at boot plus monotonic time.

var (
	tscHz       uint64
	tscMult     uint64 // ns = (tsc - bootTSC) * tscMult >> 32
	lapicBase   uintptr
	lapicPerMs  uint64 // LAPIC timer ticks per millisecond (divide by 1)
	tscDeadline bool
	wallBootNs  int64 // Unix time in ns at monotonic 0
	clockSource int   // clockKVM, clockCPUID or clockLAPIC
)

// nanotime returns nanoseconds since boot.
//
//go:nosplit
func nanotime() uint64 {
	d := rdtsc() - bootTSC
	hi, lo := bits.Mul64(d, tscMult)
	return hi<<32 | lo>>32
}

// Nanotime is the monotonic clock, in nanoseconds since boot.
func Nanotime() uint64 { return nanotime() }

// ClockParams returns the parameters of the kernel's clock, fixed at boot:
// monotonic ns = (TSC - bootTSC) * mult >> 32 and Unix ns = wallBootNs +
// monotonic ns; and whether each CPU's IA32_TSC_AUX holds its number (the
// vDSO computes the same clock and reads the CPU number in ring 3).
//
//go:nosplit
func ClockParams() (tsc, mult uint64, wallBoot int64, tscAuxIsCPU bool) {
	return bootTSC, tscMult, wallBootNs, hasRDTSCP
}

const (
	clockLAPIC = iota
	clockKVM
	clockCPUID
)

// TSCHz is the TSC frequency in Hz and how it was found.
func TSCHz() (uint64, string) {
	return tscHz, [...]string{"calibrated against the LAPIC timer", "kvmclock", "CPUID leaf 0x15"}[clockSource]
}

// pvclock_vcpu_time_info (Linux arch/x86/include/asm/pvclock-abi.h):
// u32 version, u32 pad, u64 tsc_timestamp, u64 system_time,
// u32 tsc_to_system_mul, s8 tsc_shift, u8 flags, u8 pad[2].
var pvclock [8]uint64

//go:nosplit
func kvmTSCHz() uint64 {
	_, b, c, d := cpuid(0x40000000, 0)
	if b != 0x4b4d564b || c != 0x564b4d56 || d != 0x4d {
		return 0
	}
	if a, _, _, _ := cpuid(0x40000001, 0); a&(1<<3) == 0 {
		return 0
	}
	pa := uintptr(unsafe.Pointer(&pvclock[0])) - DirectMapBase
	wrmsr(0x4b564d01, uint64(pa)|1) // MSR_KVM_SYSTEM_TIME_NEW
	mul := uint64(uint32(pvclock[3]))
	shift := int8(pvclock[3] >> 32)
	wrmsr(0x4b564d01, 0)
	if mul == 0 {
		return 0
	}
	// ns = (tsc << shift) * mul >> 32  =>  Hz = 1e9 * 2^32 / (mul << shift)
	hz := (uint64(1_000_000_000) << 32) / mul
	if shift > 0 {
		hz >>= uint(shift)
	} else {
		hz <<= uint(-shift)
	}
	return hz
}

//go:nosplit
func lapicRead(reg uintptr) uint32 { return load32(lapicBase + reg) }

//go:nosplit
func lapicWrite(reg uintptr, v uint32) { store32(lapicBase+reg, v) }

//go:nosplit
func lapicEOI() { lapicWrite(0xB0, 0) }

// initTime finds the TSC frequency and sets up this CPU's LAPIC.
//
//go:nosplit
func initTime() {
	lapicBase = phys2virt(uintptr(rdmsr(msrAPICBase) &^ 0xFFF))
	// Mask the legacy PICs.
	outb(0x21, 0xFF)
	outb(0xA1, 0xFF)
	lapicWrite(0xF0, 0x100|vecSpurious) // SVR: enable
	lapicWrite(0x3E0, 0xB)              // divide by 1
	lapicWrite(0x320, 1<<16|vecTimer)   // masked while calibrating

	_, _, c1, _ := cpuid(1, 0)
	tscDeadline = c1&(1<<24) != 0

	if hz := kvmTSCHz(); hz != 0 {
		tscHz = hz
		clockSource = clockKVM
	} else if a, b, c, _ := cpuid(0, 0); a >= 0x15 {
		_ = b
		_ = c
		if den, num, crystal, _ := cpuid(0x15, 0); den != 0 && num != 0 && crystal != 0 {
			tscHz = uint64(crystal) * uint64(num) / uint64(den)
			clockSource = clockCPUID
		}
	}
	calibrate()
	if tscHz != 0 {
		tscMult = (uint64(1_000_000_000) << 32) / tscHz
	}
	if tscDeadline {
		lapicWrite(0x320, 2<<17|vecTimer) // TSC-deadline mode
	} else {
		lapicWrite(0x320, vecTimer) // one-shot
	}
	wallBootNs = readRTC()*1_000_000_000 - int64(nanotime())
}

// calibrate measures the TSC against the LAPIC timer's current-count
// register, which counts down at 1 GHz with divide-by-1 under QEMU (its APIC
// model keeps time in ns) and KVM (APIC_BUS_CYCLE_NS = 1). Each reading pairs
// an LAPIC sample with the midpoint of the closest of several TSC bracket
// reads, so a vCPU descheduled mid-sample does not skew the result.
//
//go:nosplit
func calibrate() {
	lapicPerMs = 1_000_000
	if tscHz != 0 {
		return
	}
	lapicWrite(0x380, 0xFFFFFFFF)
	t0, l0 := tscLapicPair()
	for l0-lapicRead(0x390) < 250_000 { // 250 µs
		pause()
	}
	t1, l1 := tscLapicPair()
	lapicWrite(0x380, 0)
	if d := uint64(l0 - l1); d != 0 {
		tscHz = (t1 - t0) * 1_000_000_000 / d
	}
	if tscHz == 0 {
		tscHz = 1_000_000_000
	}
	clockSource = clockLAPIC
}

//go:nosplit
func tscLapicPair() (tsc uint64, lapic uint32) {
	best := ^uint64(0)
	for i := 0; i < 8; i++ {
		a := rdtsc()
		l := lapicRead(0x390)
		b := rdtsc()
		if b-a < best {
			best, tsc, lapic = b-a, a+(b-a)/2, l
		}
	}
	return tsc, lapic
}

// setTimerDeadline arms this CPU's LAPIC timer for monotonic time ns
// (0 = disarm).
//
//go:nosplit
func setTimerDeadline(ns uint64) {
	if ns == 0 {
		if tscDeadline {
			wrmsr(msrTSCDeadline, 0)
		} else {
			lapicWrite(0x380, 0)
		}
		return
	}
	now := nanotime()
	if tscDeadline {
		var d uint64 = 1
		if ns > now {
			// TSC ticks for ns-now, capped at an hour so the product fits.
			delta := ns - now
			if delta > 3600_000_000_000 {
				delta = 3600_000_000_000
			}
			d = delta/1000*(tscHz/1_000_000) + 1
		}
		wrmsr(msrTSCDeadline, rdtsc()+d)
		return
	}
	ticks := uint64(1)
	if ns > now {
		ticks = (ns - now) * lapicPerMs / 1_000_000
		if ticks == 0 {
			ticks = 1
		}
		if ticks > 0xFFFFFFFF {
			ticks = 0xFFFFFFFF
		}
	}
	lapicWrite(0x380, uint32(ticks))
}

// readRTC returns the CMOS real-time clock as Unix seconds (MC146818:
// registers 0-9, status B bit 2 = binary, bit 1 = 24h).
//
//go:nosplit
func readRTC() int64 {
	for i := 0; i < 1_000_000 && cmos(0x0A)&0x80 != 0; i++ {
	}
	sec, min, hour := int64(cmos(0)), int64(cmos(2)), int64(cmos(4))
	day, mon, year := int64(cmos(7)), int64(cmos(8)), int64(cmos(9))
	cent := int64(cmos(0x32))
	b := cmos(0x0B)
	if b&0x04 == 0 {
		sec, min, day, mon, year, cent = bcd(sec), bcd(min), bcd(day), bcd(mon), bcd(year), bcd(cent)
		pm := hour & 0x80
		hour = bcd(hour&0x7F) | pm
	}
	if b&0x02 == 0 && hour&0x80 != 0 {
		hour = (hour&0x7F)%12 + 12
	}
	if cent < 19 || cent > 30 {
		cent = 20
	}
	year += cent * 100
	// Days from civil (Howard Hinnant's algorithm).
	y := year
	if mon <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	m := mon
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return days*86400 + hour*3600 + min*60 + sec
}

//go:nosplit
func cmos(reg uint8) uint8 {
	outb(0x70, reg)
	return inb(0x71)
}

//go:nosplit
func bcd(v int64) int64 { return (v>>4)*10 + v&0xF }

// Walltime is the Unix time in ns.
//
//go:nosplit
func walltime() int64 { return wallBootNs + int64(nanotime()) }
