package machine

import "sync/atomic"

// The syscall profile (loader option --syscall-profile): TSC stamps at the
// boundaries of each app syscall round trip, summed over the run, so that
// `make bench` can show which part dominates. One round trip, from the
// Go side's RunApp call to the next one:
//
//	call    RunApp is called (level 1, after the previous syscall's handler)
//	kernel  the kernel thread's RunApp syscall reached runApp (level 0)
//	enter   the app's registers are in the trap frame (before XRSTOR, IRETQ)
//	entry   the app's next SYSCALL has saved the GPRs (syscallEntry)
//	saved   the FPU state is saved and the app context stored (leaveApp)
//	return  RunApp returned to the goroutine (level 1)
//
// and the handler's part is the time from return to the next call.

// syscallProfile turns the stamps on (set before the app starts).
var syscallProfile bool

// profStamps are the TSC stamps of one app thread's current round trip.
type profStamps struct {
	call, kernel, enter, entry, saved, ret uint64
}

// Parts of a round trip, in the order they happen.
const (
	ProfToKernel    = iota // RunApp call -> runApp: Go's entersyscall, SYSCALL, trap dispatch
	ProfEnterApp           // runApp -> frame loaded: save kernel thread, copy app registers
	ProfAppReentry         // frame loaded -> next SYSCALL saved: XRSTOR, IRETQ, app code, SYSCALL, GPR save
	ProfStateSave          // -> app context stored: WRMSR FS, XSAVE, trap dispatch, leaveApp copies
	ProfToGoroutine        // -> RunApp returns: XRSTOR kernel FPU, IRETQ, Go's exitsyscall
	ProfHandler            // RunApp returned -> next RunApp call: the Go loop and the syscall handler
	NumProfParts
)

// ProfPartNames name the parts for reports.
var ProfPartNames = [NumProfParts]string{"to-kernel", "enter-app", "app+reentry", "state-save", "to-goroutine", "handler"}

var (
	profSums  [NumProfParts]uint64 // TSC ticks, atomic
	profCount uint64               // complete round trips, atomic
)

// EnableSyscallProfile turns the syscall profile on; call it before the
// app starts.
func EnableSyscallProfile() { syscallProfile = true }

// profileRecord adds one round trip ending at now (RunApp returned) to the
// sums when it was a syscall and the previous return is known.
//
//go:nosplit
func profileRecord(p *profStamps, isSyscall bool, now uint64) {
	prev := p.ret
	p.ret = 0
	if !isSyscall || p.entry == 0 {
		return
	}
	if prev != 0 && prev < p.call && p.call <= p.kernel && p.kernel <= p.enter && p.enter <= p.entry && p.entry <= p.saved && p.saved <= now {
		d := [NumProfParts]uint64{p.kernel - p.call, p.enter - p.kernel, p.entry - p.enter, p.saved - p.entry, now - p.saved, p.call - prev}
		for i, v := range d {
			atomic.AddUint64(&profSums[i], v)
		}
		atomic.AddUint64(&profCount, 1)
	}
	p.ret = now
	p.entry = 0
}

// SyscallProfile returns the number of profiled round trips and the mean
// time of each part in ns.
func SyscallProfile() (n uint64, meanNs [NumProfParts]float64) {
	n = atomic.LoadUint64(&profCount)
	if n == 0 || tscHz == 0 {
		return n, meanNs
	}
	for i := range meanNs {
		meanNs[i] = float64(atomic.LoadUint64(&profSums[i])) * 1e9 / float64(tscHz) / float64(n)
	}
	return n, meanNs
}
