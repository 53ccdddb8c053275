package linux

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Mirrors of the kernel's x86-64 signal structures, written from the
// uapi headers (asm/sigcontext.h, asm/ucontext.h, asm-generic/signal.h,
// asm/sigframe.h). Go lays out these fields exactly as C does, so their
// offsets check the frame constants and binary.Read decodes a frame
// field by field.
type kSigcontext struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	RDI, RSI, RBP, RBX, RDX, RAX, RCX    uint64
	RSP, RIP, EFLAGS                     uint64
	CS, GS, FS, SS                       uint16
	Err, Trapno, Oldmask, CR2, Fpstate   uint64
	Reserved1                            [8]uint64
}

type kStack struct {
	SP    uint64
	Flags uint32
	_     uint32
	Size  uint64
}

type kUcontext struct {
	Flags, Link uint64
	Stack       kStack
	Mcontext    kSigcontext
	Sigmask     uint64
}

type kRtSigframe struct {
	Pretcode uint64
	UC       kUcontext
	Info     unix.Siginfo
}

// kFpxSwBytes is struct _fpx_sw_bytes (bytes 464..511 of the FXSAVE area).
type kFpxSwBytes struct {
	Magic1, ExtendedSize uint32
	Xfeatures            uint64
	XstateSize           uint32
	Padding              [7]uint32
}

func TestSignalFrameLayout(t *testing.T) {
	var f kRtSigframe
	var sc kSigcontext
	var uc kUcontext
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(rt_sigframe)", unsafe.Sizeof(f), task.FrameSize},
		{"rt_sigframe.uc", unsafe.Offsetof(f.UC), task.FrameUC},
		{"rt_sigframe.info", unsafe.Offsetof(f.Info), task.FrameInfo},
		{"sizeof(siginfo)", unsafe.Sizeof(unix.Siginfo{}), task.SiginfoSize},
		{"sizeof(ucontext)", unsafe.Sizeof(uc), task.UcSize},
		{"uc_flags", unsafe.Offsetof(uc.Flags), task.UcFlags},
		{"uc_link", unsafe.Offsetof(uc.Link), task.UcLink},
		{"uc_stack", unsafe.Offsetof(uc.Stack), task.UcStack},
		{"uc_mcontext", unsafe.Offsetof(uc.Mcontext), task.UcMcontext},
		{"uc_sigmask", unsafe.Offsetof(uc.Sigmask), task.UcSigmask},
		{"sizeof(sigcontext)", unsafe.Sizeof(sc), task.ScSize},
		{"sc.r8", unsafe.Offsetof(sc.R8), task.ScR8},
		{"sc.di", unsafe.Offsetof(sc.RDI), task.ScRDI},
		{"sc.si", unsafe.Offsetof(sc.RSI), task.ScRSI},
		{"sc.bp", unsafe.Offsetof(sc.RBP), task.ScRBP},
		{"sc.bx", unsafe.Offsetof(sc.RBX), task.ScRBX},
		{"sc.dx", unsafe.Offsetof(sc.RDX), task.ScRDX},
		{"sc.ax", unsafe.Offsetof(sc.RAX), task.ScRAX},
		{"sc.cx", unsafe.Offsetof(sc.RCX), task.ScRCX},
		{"sc.sp", unsafe.Offsetof(sc.RSP), task.ScRSP},
		{"sc.ip", unsafe.Offsetof(sc.RIP), task.ScRIP},
		{"sc.flags", unsafe.Offsetof(sc.EFLAGS), task.ScEFLAGS},
		{"sc.cs", unsafe.Offsetof(sc.CS), task.ScCS},
		{"sc.gs", unsafe.Offsetof(sc.GS), task.ScGS},
		{"sc.fs", unsafe.Offsetof(sc.FS), task.ScFS},
		{"sc.ss", unsafe.Offsetof(sc.SS), task.ScSS},
		{"sc.err", unsafe.Offsetof(sc.Err), task.ScErr},
		{"sc.trapno", unsafe.Offsetof(sc.Trapno), task.ScTrapno},
		{"sc.oldmask", unsafe.Offsetof(sc.Oldmask), task.ScOldmask},
		{"sc.cr2", unsafe.Offsetof(sc.CR2), task.ScCR2},
		{"sc.fpstate", unsafe.Offsetof(sc.Fpstate), task.ScFpstate},
		{"sizeof(_fpx_sw_bytes)", unsafe.Sizeof(kFpxSwBytes{}), task.FpLegacySize - task.FpSwBytes},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	// The general registers of sigcontext in the order sigcontextRegs uses.
	var ctx machine.AppContext
	regs := task.SigcontextRegs(&ctx)
	for i, r := range regs {
		*r = uint64(i + 1)
	}
	if ctx.R8 != 1 || ctx.R15 != 8 || ctx.RDI != 9 || ctx.RAX != 14 || ctx.RSP != 16 || ctx.RIP != 17 || ctx.RFLAGS != 18 {
		t.Errorf("sigcontextRegs order wrong: %+v", ctx)
	}
}

// sgErr is the RAX of a syscall failing with e.
func sgErr(e unix.Errno) int64 { return -int64(e) }

// Test addresses: a handler and a restorer (never executed) and the
// interrupted code.
const (
	sgHandler  = 0x401000
	sgRestorer = 0x402000
	sgRIP      = 0x403456
)

// sgSetAction installs a handler for sig through rt_sigaction.
func sgSetAction(t *testing.T, task0 *task.Task, buf uintptr, sig int, handler, flags, mask uint64) {
	t.Helper()
	var b [32]byte
	le.PutUint64(b[0:], handler)
	le.PutUint64(b[8:], flags)
	le.PutUint64(b[16:], sgRestorer)
	le.PutUint64(b[24:], mask)
	task0.CopyOut(buf, b[:])
	if r := call(task0, unix.SYS_RT_SIGACTION, uintptr(sig), buf, 0, 8); r != 0 {
		t.Fatalf("rt_sigaction(%d) = %d", sig, r)
	}
}

// sgStack maps a 64 KiB stack and returns its top.
func sgStack(t *testing.T, p *task.Process) uint64 {
	t.Helper()
	a, err := p.MM.Map(0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, "")
	if err != nil {
		t.Fatal(err)
	}
	return uint64(a + 64<<10)
}

// sgRegs gives every register of c a distinct value, with RSP = sp.
func sgRegs(c *machine.AppContext, sp uint64) {
	for i, r := range task.SigcontextRegs(c) {
		*r = 0x1111_0000_0000 + uint64(i)*0x101
	}
	c.RSP, c.RIP, c.RFLAGS = sp, sgRIP, 0x246|0x400|0x100 // with DF and TF
	c.FSBase, c.GSBase = 0x7000, 0x8000
}

// sgXSAVE makes the tests see an 832-byte XSAVE image (x87, SSE, AVX)
// and fills c's image with a recognisable pattern.
func sgXSAVE(t *testing.T, c *machine.AppContext) []byte {
	old := task.FpuLayout
	task.FpuLayout = func() (int, bool, uint64) { return 832, true, 7 }
	t.Cleanup(func() { task.FpuLayout = old })
	img := c.FPUImage()[:832]
	for i := range img {
		img[i] = byte(i*7 + 1)
	}
	le.PutUint16(img[0:], 0x27f)                 // FCW
	le.PutUint32(img[task.FpMXCSR:], 0x1fa0)     // MXCSR
	le.PutUint32(img[task.FpMXCSRMask:], 0xffff) // MXCSR_MASK
	clear(img[task.XsaveHeader : task.XsaveHeader+64])
	le.PutUint64(img[task.XsaveHeader:], 6) // XSTATE_BV: SSE, AVX
	return append([]byte(nil), img...)
}

// sgFrame decodes the rt_sigframe at addr.
func sgFrame(t *testing.T, task0 *task.Task, addr uint64) kRtSigframe {
	t.Helper()
	b := make([]byte, task.FrameSize)
	if err := task0.CopyIn(b, uintptr(addr)); err != nil {
		t.Fatalf("frame at %#x: %v", addr, err)
	}
	var f kRtSigframe
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRtSigactionRoundTrip(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	flags := uint64(task.SaSiginfo | task.SaRestorer | task.SaOnstack | task.SaRestart | task.SaUnsupported)
	mask := uint64(1<<(unix.SIGKILL-1) | 1<<(unix.SIGUSR2-1))
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, flags, mask)
	if r := call(task0, unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), 0, buf+64, 8); r != 0 {
		t.Fatalf("rt_sigaction get = %d", r)
	}
	var b [32]byte
	task0.CopyIn(b[:], buf+64)
	got := task.Sigaction{Handler: le.Uint64(b[0:]), Flags: le.Uint64(b[8:]), Restorer: le.Uint64(b[16:]), Mask: le.Uint64(b[24:])}
	want := task.Sigaction{Handler: sgHandler, Flags: flags &^ task.SaUnsupported, Restorer: sgRestorer, Mask: 1 << (unix.SIGUSR2 - 1)}
	if got != want {
		t.Errorf("read back %+v, want %+v (SA_UNSUPPORTED and SIGKILL dropped)", got, want)
	}
	// Setting returns the previous action.
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), task.SigIGN, 0, 0)
	call(task0, unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), buf, buf+64, 8)
	task0.CopyIn(b[:], buf+64)
	if le.Uint64(b[0:]) != task.SigIGN {
		t.Errorf("old handler %#x, want SIG_IGN", le.Uint64(b[0:]))
	}

	for _, c := range []struct {
		sig, act, oact, size uintptr
		want                 int64
	}{
		{uintptr(unix.SIGUSR1), buf, 0, 4, sgErr(unix.EINVAL)},
		{0, 0, buf + 64, 8, sgErr(unix.EINVAL)},
		{65, 0, buf + 64, 8, sgErr(unix.EINVAL)},
		{uintptr(unix.SIGKILL), buf, 0, 8, sgErr(unix.EINVAL)},
		{uintptr(unix.SIGSTOP), buf, 0, 8, sgErr(unix.EINVAL)},
		{uintptr(unix.SIGKILL), 0, buf + 64, 8, 0},
		{uintptr(unix.SIGUSR1), 0x10, 0, 8, sgErr(unix.EFAULT)},
		{uintptr(unix.SIGUSR1), 0, 0x10, 8, sgErr(unix.EFAULT)},
		{64, buf, 0, 8, 0},
	} {
		if r := call(task0, unix.SYS_RT_SIGACTION, c.sig, c.act, c.oact, c.size); r != c.want {
			t.Errorf("rt_sigaction(%d, %#x, %#x, %d) = %d, want %d", c.sig, c.act, c.oact, c.size, r, c.want)
		}
	}
}

func TestRtSigprocmask(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	set := func(how int, v uint64) (int64, uint64) {
		task0.WriteU64(buf, v)
		r := call(task0, unix.SYS_RT_SIGPROCMASK, uintptr(how), buf, buf+8, 8)
		old, _ := task0.ReadU64(buf + 8)
		return r, old
	}
	if r, old := set(unix.SIG_BLOCK, 0b1010); r != 0 || old != 0 {
		t.Errorf("SIG_BLOCK = %d, old %#x", r, old)
	}
	if r, old := set(unix.SIG_BLOCK, 0b0110); r != 0 || old != 0b1010 {
		t.Errorf("SIG_BLOCK = %d, old %#x", r, old)
	}
	if r, old := set(unix.SIG_UNBLOCK, 0b0011); r != 0 || old != 0b1110 {
		t.Errorf("SIG_UNBLOCK = %d, old %#x", r, old)
	}
	if task0.Sigmask != 0b1100 {
		t.Errorf("mask %#b, want 0b1100", task0.Sigmask)
	}
	if r, _ := set(unix.SIG_SETMASK, ^uint64(0)); r != 0 || task0.Sigmask != ^uint64(task.Unblockable) {
		t.Errorf("SIG_SETMASK all = %d, mask %#x: SIGKILL and SIGSTOP must stay unblocked", r, task0.Sigmask)
	}
	if r, _ := set(3, 0); r != sgErr(unix.EINVAL) {
		t.Errorf("how 3 = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, buf, 0, 16); r != sgErr(unix.EINVAL) {
		t.Errorf("sigsetsize 16 = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, 0x10, 0, 8); r != sgErr(unix.EFAULT) {
		t.Errorf("bad set = %d, want -EFAULT", r)
	}
	// A query with an invalid how is fine: how is only looked at with a set.
	if r := call(task0, unix.SYS_RT_SIGPROCMASK, 7, 0, buf+8, 8); r != 0 {
		t.Errorf("query = %d", r)
	}
	if old, _ := task0.ReadU64(buf + 8); old != ^uint64(task.Unblockable) {
		t.Errorf("query returned %#x", old)
	}
}

func TestKillAndPending(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	usr1, usr2 := uint64(1)<<(unix.SIGUSR1-1), uint64(1)<<(unix.SIGUSR2-1)
	task0.SetSigmask(usr1 | usr2)
	for _, c := range []struct {
		nr   int
		args []uintptr
		want int64
	}{
		{unix.SYS_KILL, []uintptr{1, uintptr(unix.SIGUSR1)}, 0},
		{unix.SYS_KILL, []uintptr{0, 0}, 0},
		{unix.SYS_KILL, []uintptr{^uintptr(0), uintptr(unix.SIGUSR1)}, sgErr(unix.ESRCH)},
		{unix.SYS_KILL, []uintptr{2, uintptr(unix.SIGUSR1)}, sgErr(unix.ESRCH)},
		{unix.SYS_KILL, []uintptr{1, 65}, sgErr(unix.EINVAL)},
		{unix.SYS_TGKILL, []uintptr{1, 1, uintptr(unix.SIGUSR2)}, 0},
		{unix.SYS_TGKILL, []uintptr{2, 1, uintptr(unix.SIGUSR2)}, sgErr(unix.ESRCH)},
		{unix.SYS_TGKILL, []uintptr{1, 7, uintptr(unix.SIGUSR2)}, sgErr(unix.ESRCH)},
		{unix.SYS_TGKILL, []uintptr{0, 1, uintptr(unix.SIGUSR2)}, sgErr(unix.EINVAL)},
		{unix.SYS_TKILL, []uintptr{1, 0}, 0},
		{unix.SYS_TKILL, []uintptr{9, 0}, sgErr(unix.ESRCH)},
	} {
		if r := call(task0, c.nr, c.args...); r != c.want {
			t.Errorf("%s%#x = %d, want %d", SyscallName(uintptr(c.nr)), c.args, r, c.want)
		}
	}
	if p.Sig.Pending.Mask != usr1 || task0.Pending.Mask != usr2 {
		t.Errorf("process pending %#x, thread pending %#x", p.Sig.Pending.Mask, task0.Pending.Mask)
	}
	if r := call(task0, unix.SYS_RT_SIGPENDING, buf, 8); r != 0 {
		t.Fatalf("rt_sigpending = %d", r)
	}
	if v, _ := task0.ReadU64(buf); v != usr1|usr2 {
		t.Errorf("rt_sigpending = %#x, want %#x", v, usr1|usr2)
	}
	if r := call(task0, unix.SYS_RT_SIGPENDING, buf, 9); r != sgErr(unix.EINVAL) {
		t.Errorf("rt_sigpending size 9 = %d", r)
	}
	// Ignored signals are dropped unless blocked; SIGCHLD ignores by default.
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGCHLD))
	if p.Sig.Pending.Mask&(1<<(unix.SIGCHLD-1)) != 0 {
		t.Error("SIGCHLD (default: ignore) was queued")
	}
	// Ignoring a pending signal discards it.
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), task.SigIGN, 0, 0)
	if p.Sig.Pending.Mask != 0 {
		t.Errorf("SIGUSR1 still pending after SIG_IGN: %#x", p.Sig.Pending.Mask)
	}
	// Standard signals are pending once; real-time signals queue.
	rt := 40
	task0.SetSigmask(uint64(1) << (rt - 1))
	for i := 0; i < 3; i++ {
		call(task0, unix.SYS_TKILL, 1, uintptr(rt))
		call(task0, unix.SYS_TKILL, 1, uintptr(unix.SIGUSR2))
	}
	if n := len(task0.Pending.Infos[rt-1]); n != 3 {
		t.Errorf("%d instances of signal %d queued, want 3", n, rt)
	}
	if n := len(task0.Pending.Infos[unix.SIGUSR2-1]); n != 1 {
		t.Errorf("%d instances of SIGUSR2 queued, want 1", n)
	}
}

func TestSigaltstack(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	stack := func(sp uint64, flags uint32, size uint64) uintptr {
		var b [24]byte
		le.PutUint64(b[0:], sp)
		le.PutUint32(b[8:], flags)
		le.PutUint64(b[16:], size)
		task0.CopyOut(buf, b[:])
		return buf
	}
	get := func() (uint64, uint32, uint64) {
		if r := call(task0, unix.SYS_SIGALTSTACK, 0, buf+32); r != 0 {
			t.Fatalf("sigaltstack get = %d", r)
		}
		var b [24]byte
		task0.CopyIn(b[:], buf+32)
		return le.Uint64(b[0:]), le.Uint32(b[8:]), le.Uint64(b[16:])
	}
	if _, fl, _ := get(); fl != task.SsDisable {
		t.Errorf("initial flags %#x, want SS_DISABLE", fl)
	}
	task0.Ctx.RSP = 0x7000_0000
	if r := call(task0, unix.SYS_SIGALTSTACK, stack(0x5000_0000, 0, 1024), 0); r != sgErr(unix.ENOMEM) {
		t.Errorf("1 KiB stack = %d, want -ENOMEM", r)
	}
	if r := call(task0, unix.SYS_SIGALTSTACK, stack(0x5000_0000, 4, 8192), 0); r != sgErr(unix.EINVAL) {
		t.Errorf("flags 4 = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_SIGALTSTACK, stack(0x5000_0000, 0, 8192), 0); r != 0 {
		t.Errorf("set = %d", r)
	}
	if sp, fl, size := get(); sp != 0x5000_0000 || fl != 0 || size != 8192 {
		t.Errorf("get = %#x %#x %d", sp, fl, size)
	}
	task0.Ctx.RSP = 0x5000_1000 // on the stack now
	if _, fl, _ := get(); fl != task.SsOnstack {
		t.Errorf("flags on the stack %#x, want SS_ONSTACK", fl)
	}
	if r := call(task0, unix.SYS_SIGALTSTACK, stack(0, task.SsDisable, 0), 0); r != sgErr(unix.EPERM) {
		t.Errorf("change while on the stack = %d, want -EPERM", r)
	}
	task0.Ctx.RSP = 0x7000_0000
	if r := call(task0, unix.SYS_SIGALTSTACK, stack(0x6000_0000, task.SsOnstack|task.SsAutodisarm, 1<<20), buf+32); r != 0 {
		t.Errorf("set with SS_AUTODISARM = %d", r)
	}
	if _, fl, _ := get(); fl != task.SsAutodisarm {
		t.Errorf("flags %#x, want SS_AUTODISARM", fl)
	}
	if r := call(task0, unix.SYS_SIGALTSTACK, stack(0x1234, task.SsDisable, 5), 0); r != 0 {
		t.Errorf("disable = %d", r)
	}
	if sp, fl, size := get(); sp != 0 || fl != task.SsDisable || size != 0 {
		t.Errorf("disabled: %#x %#x %d", sp, fl, size)
	}
	if r := call(task0, unix.SYS_SIGALTSTACK, 0x10, 0); r != sgErr(unix.EFAULT) {
		t.Errorf("bad ss = %d, want -EFAULT", r)
	}
}

// TestSignalDelivery checks the frame delivery writes, field by field,
// then rt_sigreturn restoring exactly what was saved.
func TestSignalDelivery(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	top := sgStack(t, p)
	sgRegs(c, top-0x1003)
	img := sgXSAVE(t, c)
	saved := *c
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer, 1<<(unix.SIGTERM-1))
	task0.SetSigmask(1 << (unix.SIGHUP - 1))
	if r := call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1)); r != 0 {
		t.Fatalf("kill = %d", r)
	}
	task0.DeliverSignals()
	if task0.Exited {
		t.Fatal("task exited")
	}

	frame := c.RSP
	if c.RIP != sgHandler || c.RDI != uint64(unix.SIGUSR1) || c.RSI != frame+task.FrameInfo || c.RDX != frame+task.FrameUC || c.RAX != 0 {
		t.Errorf("handler entry rip %#x rdi %d rsi %#x rdx %#x rax %#x (frame %#x)", c.RIP, c.RDI, c.RSI, c.RDX, c.RAX, frame)
	}
	if (frame+8)%16 != 0 || frame+task.FrameSize > saved.RSP-task.RedZone {
		t.Errorf("frame %#x: misaligned or inside the red zone below %#x", frame, saved.RSP)
	}
	if c.RFLAGS&(0x400|0x100) != 0 {
		t.Errorf("handler rflags %#x: DF and TF must be clear", c.RFLAGS)
	}
	wantMask := uint64(1<<(unix.SIGHUP-1) | 1<<(unix.SIGTERM-1) | 1<<(unix.SIGUSR1-1))
	if task0.Sigmask != wantMask {
		t.Errorf("handler mask %#x, want %#x", task0.Sigmask, wantMask)
	}

	f := sgFrame(t, task0, frame)
	if f.Pretcode != sgRestorer {
		t.Errorf("pretcode %#x, want the restorer", f.Pretcode)
	}
	if f.UC.Flags != task.UcFPXState|task.UcSigcontextSS|task.UcStrictRestoreSS || f.UC.Link != 0 {
		t.Errorf("uc_flags %#x uc_link %#x", f.UC.Flags, f.UC.Link)
	}
	if f.UC.Stack.SP != 0 || f.UC.Stack.Flags != task.SsDisable || f.UC.Stack.Size != 0 {
		t.Errorf("uc_stack %+v, want disabled", f.UC.Stack)
	}
	sc := f.UC.Mcontext
	want := kSigcontext{
		R8: saved.R8, R9: saved.R9, R10: saved.R10, R11: saved.R11, R12: saved.R12, R13: saved.R13,
		R14: saved.R14, R15: saved.R15, RDI: saved.RDI, RSI: saved.RSI, RBP: saved.RBP, RBX: saved.RBX,
		RDX: saved.RDX, RAX: saved.RAX, RCX: saved.RCX, RSP: saved.RSP, RIP: saved.RIP, EFLAGS: saved.RFLAGS,
		CS: machine.AppCS, SS: machine.AppSS, Oldmask: 1 << (unix.SIGHUP - 1), Fpstate: sc.Fpstate,
	}
	if sc != want {
		t.Errorf("sigcontext\n got %+v\nwant %+v", sc, want)
	}
	if f.UC.Sigmask != 1<<(unix.SIGHUP-1) {
		t.Errorf("uc_sigmask %#x", f.UC.Sigmask)
	}
	if f.Info.Signo != int32(unix.SIGUSR1) || f.Info.Code != task.SiUser {
		t.Errorf("siginfo signo %d code %d", f.Info.Signo, f.Info.Code)
	}
	var info [task.SiginfoSize]byte
	task0.CopyIn(info[:], uintptr(frame+task.FrameInfo))
	if pid := le.Uint32(info[16:]); pid != 1 {
		t.Errorf("si_pid %d, want 1", pid)
	}

	// The FPU state: 64-byte aligned above the frame, the image with the
	// software bytes, FP_XSTATE_MAGIC2 after it, XSTATE_BV with x87|SSE.
	fp := sc.Fpstate
	if fp%64 != 0 || fp < frame+task.FrameSize || fp+832+4 > saved.RSP-task.RedZone {
		t.Errorf("fpstate %#x (frame %#x, rsp %#x)", fp, frame, saved.RSP)
	}
	got := make([]byte, 832+4)
	task0.CopyIn(got, uintptr(fp))
	var sw kFpxSwBytes
	binary.Read(bytes.NewReader(got[task.FpSwBytes:]), binary.LittleEndian, &sw)
	if sw != (kFpxSwBytes{Magic1: 0x46505853, ExtendedSize: 836, Xfeatures: 7, XstateSize: 832}) {
		t.Errorf("fpx_sw_bytes %+v", sw)
	}
	if m := le.Uint32(got[832:]); m != 0x46505845 {
		t.Errorf("magic2 %#x", m)
	}
	if bv := le.Uint64(got[task.XsaveHeader:]); bv != 7 {
		t.Errorf("XSTATE_BV %#x, want 7", bv)
	}
	if !bytes.Equal(got[:task.FpSwBytes], img[:task.FpSwBytes]) || !bytes.Equal(got[task.XsaveHeader+8:832], img[task.XsaveHeader+8:]) {
		t.Error("FPU image in the frame differs from the context's")
	}
	// The handler starts with a clean FPU.
	cur := c.FPUImage()
	if le.Uint16(cur[0:]) != 0x37f || le.Uint32(cur[task.FpMXCSR:]) != 0x1f80 || le.Uint64(cur[task.XsaveHeader:]) != 0 {
		t.Errorf("handler FPU: fcw %#x mxcsr %#x xstate_bv %#x", le.Uint16(cur[0:]), le.Uint32(cur[task.FpMXCSR:]), le.Uint64(cur[task.XsaveHeader:]))
	}

	// The handler clobbers everything, then returns through the restorer:
	// `ret` popped pretcode, so RSP = frame+8 at rt_sigreturn.
	for _, r := range task.SigcontextRegs(c) {
		*r = 0xdead
	}
	c.RFLAGS = 0x202
	c.RSP = frame + 8
	c.RAX = unix.SYS_RT_SIGRETURN
	task0.SetSigmask(0)
	clear(c.FPUImage()[:832])
	task0.Syscall()
	for i, r := range task.SigcontextRegs(c) {
		if want := *task.SigcontextRegs(&saved)[i]; *r != want {
			t.Errorf("register %d = %#x after rt_sigreturn, want %#x", i, *r, want)
		}
	}
	if task0.Sigmask != 1<<(unix.SIGHUP-1) {
		t.Errorf("mask after rt_sigreturn %#x", task0.Sigmask)
	}
	back := c.FPUImage()[:832]
	if !bytes.Equal(back[:task.FpSwBytes], img[:task.FpSwBytes]) || !bytes.Equal(back[task.XsaveHeader+8:], img[task.XsaveHeader+8:]) {
		t.Error("FPU image not restored")
	}
	if bv := le.Uint64(back[task.XsaveHeader:]); bv != 7 {
		t.Errorf("restored XSTATE_BV %#x, want 7", bv)
	}
	if !bytes.Equal(back[task.FpSwBytes:task.FpLegacySize], make([]byte, 48)) {
		t.Error("software-reserved bytes not cleared")
	}
}

// Go's asynchronous preemption rewrites RIP and RSP in the saved context;
// rt_sigreturn must resume there, and EFLAGS only takes the user bits.
func TestSigreturnUsesEditedContext(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, p)-64)
	sgSetAction(t, task0, buf, int(unix.SIGURG), sgHandler, task.SaSiginfo|task.SaRestorer|task.SaRestart, 0)
	call(task0, unix.SYS_TGKILL, 1, 1, uintptr(unix.SIGURG))
	task0.DeliverSignals()
	frame := c.RSP
	mc := uintptr(frame + task.FrameUC + task.UcMcontext)
	task0.WriteU64(mc+task.ScRIP, 0x404040)
	task0.WriteU64(mc+task.ScRSP, 0x5555)
	task0.WriteU64(mc+task.ScEFLAGS, 0xffffffff) // IOPL, IF, VM, ... must not come back
	c.RSP = frame + 8
	c.RAX = unix.SYS_RT_SIGRETURN
	task0.Syscall()
	if c.RIP != 0x404040 || c.RSP != 0x5555 {
		t.Errorf("resumed at rip %#x rsp %#x", c.RIP, c.RSP)
	}
	if c.RFLAGS != 0x246&^task.FixEflags|0xffffffff&task.FixEflags {
		t.Errorf("rflags %#x", c.RFLAGS)
	}
}

// A frame that cannot be read back, or holds an invalid MXCSR or return
// address, kills the process with SIGSEGV.
func TestSigreturnBadFrame(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(task0 *task.Task, frame uint64)
	}{
		{"unmapped", func(task0 *task.Task, frame uint64) { task0.Ctx.RSP = 0x10 }},
		{"mxcsr", func(task0 *task.Task, frame uint64) {
			fp, _ := task0.ReadU64(uintptr(frame + task.FrameUC + task.UcMcontext + task.ScFpstate))
			task0.WriteU32(uintptr(fp+task.FpMXCSR), 0xffffffff)
		}},
		{"rip", func(task0 *task.Task, frame uint64) {
			task0.WriteU64(uintptr(frame+task.FrameUC+task.UcMcontext+task.ScRIP), 0x8000_0000_0000)
		}},
	} {
		p, task0, out, buf := newTestProcess(t)
		sgRegs(task0.Ctx, sgStack(t, p)-64)
		sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
		call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
		task0.DeliverSignals()
		frame := task0.Ctx.RSP
		task0.Ctx.RSP = frame + 8
		c.edit(task0, frame)
		task0.Ctx.RAX = unix.SYS_RT_SIGRETURN
		task0.Syscall()
		if !task0.Exited || p.Wait() != 128+int(unix.SIGSEGV) {
			t.Errorf("%s: exited %v status %d, want SIGSEGV", c.name, task0.Exited, p.Wait())
		}
		if !strings.Contains(out.String(), "bad signal frame") {
			t.Errorf("%s: log %q", c.name, out.String())
		}
	}
}

// Without valid xstate magic, rt_sigreturn restores only x87 and SSE and
// resets the other components (fx_only in Linux).
func TestSigreturnFXOnly(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, p)-64)
	img := sgXSAVE(t, c)
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	task0.DeliverSignals()
	frame := c.RSP
	fp, _ := task0.ReadU64(uintptr(frame + task.FrameUC + task.UcMcontext + task.ScFpstate))
	task0.WriteU32(uintptr(fp+832), 0) // magic2 gone
	c.RSP = frame + 8
	c.RAX = unix.SYS_RT_SIGRETURN
	task0.Syscall()
	back := c.FPUImage()
	if !bytes.Equal(back[:task.FpSwBytes], img[:task.FpSwBytes]) {
		t.Error("legacy area not restored")
	}
	if bv := le.Uint64(back[task.XsaveHeader:]); bv != task.XfeatureMaskFPSSE {
		t.Errorf("XSTATE_BV %#x, want x87|SSE only", bv)
	}
}

// SA_ONSTACK frames go to the top of the alternate stack; a nested signal
// stays below the current frame on it; overflowing it kills with SIGSEGV.
func TestAltStackDelivery(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, p)-64)
	alt := sgStack(t, p) - 32<<10 // a 32 KiB alternate stack
	if err := task0.SetAltStack(task.AltStack{Sp: alt, Size: 32 << 10}, c.RSP); err != nil {
		t.Fatal(err)
	}
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer|task.SaOnstack|task.SaNodefer, 0)
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	task0.DeliverSignals()
	first := c.RSP
	if first < alt || first >= alt+32<<10 || alt+32<<10-first > 4096 {
		t.Errorf("frame %#x not at the top of the alternate stack [%#x, %#x)", first, alt, alt+32<<10)
	}
	if task0.Sigmask&(1<<(unix.SIGUSR1-1)) != 0 {
		t.Error("SA_NODEFER: the signal must not be blocked in its handler")
	}
	f := sgFrame(t, task0, first)
	if f.UC.Stack.SP != alt || f.UC.Stack.Size != 32<<10 || f.UC.Stack.Flags != 0 {
		t.Errorf("uc_stack %+v", f.UC.Stack)
	}
	// Nested delivery while running on the alternate stack.
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	task0.DeliverSignals()
	if c.RSP >= first-task.RedZone || c.RSP < alt {
		t.Errorf("nested frame %#x, first %#x", c.RSP, first)
	}
	// Keep nesting until the stack overflows.
	for i := 0; i < 100 && !task0.Exited; i++ {
		call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
		task0.DeliverSignals()
	}
	if !task0.Exited || p.Wait() != 128+int(unix.SIGSEGV) {
		t.Errorf("overflowing the alternate stack: exited %v", task0.Exited)
	}
}

func TestAutodisarmAndResethand(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, p)-64)
	alt := sgStack(t, p) - 32<<10
	task0.SetAltStack(task.AltStack{Sp: alt, Size: 32 << 10, Flags: task.SsAutodisarm}, c.RSP)
	sgSetAction(t, task0, buf, int(unix.SIGUSR2), sgHandler, task.SaSiginfo|task.SaRestorer|task.SaOnstack|task.SaResethand, 0)
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR2))
	task0.DeliverSignals()
	if c.RSP < alt || c.RSP >= alt+32<<10 {
		t.Errorf("frame %#x not on the alternate stack", c.RSP)
	}
	if task0.Altstack.Size != 0 {
		t.Errorf("SS_AUTODISARM: alternate stack still set: %+v", task0.Altstack)
	}
	f := sgFrame(t, task0, c.RSP)
	if f.UC.Stack.SP != alt || f.UC.Stack.Flags != task.SsAutodisarm {
		t.Errorf("uc_stack %+v", f.UC.Stack)
	}
	if h := p.Sig.Actions[unix.SIGUSR2].Handler; h != task.SigDFL {
		t.Errorf("SA_RESETHAND: handler %#x after delivery", h)
	}
	// rt_sigreturn brings the alternate stack back.
	c.RSP += 8
	c.RAX = unix.SYS_RT_SIGRETURN
	task0.Syscall()
	if task0.Altstack.Sp != alt || task0.Altstack.Flags != task.SsAutodisarm {
		t.Errorf("alternate stack after rt_sigreturn %+v", task0.Altstack)
	}
}

func TestHandlerWithoutRestorer(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	sgRegs(task0.Ctx, sgStack(t, p)-64)
	var b [32]byte
	le.PutUint64(b[0:], sgHandler)
	task0.CopyOut(buf, b[:])
	call(task0, unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), buf, 0, 8)
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	task0.DeliverSignals()
	if st := p.Wait(); st != 128+int(unix.SIGSEGV) {
		t.Errorf("status %d, want SIGSEGV", st)
	}
}

func TestDefaultActions(t *testing.T) {
	for _, c := range []struct {
		sig    unix.Signal
		status int // -1: keeps running
		log    string
	}{
		{unix.SIGCHLD, -1, ""},
		{unix.SIGWINCH, -1, ""},
		{unix.SIGURG, -1, ""},
		{unix.SIGTSTP, -1, ""},
		{unix.SIGTERM, 143, "terminated by signal 15 (SIGTERM)"},
		{unix.SIGKILL, 137, "terminated by signal 9"},
		{unix.SIGABRT, 134, "killed by signal 6 (SIGABRT)\n  thread 1 rip="},
		{40, 168, "terminated by signal 40 (SIGRT8)"},
	} {
		p, task0, out, _ := newTestProcess(t)
		p.ExePath = "/app"
		task0.SetSigmask(1 << (c.sig - 1)) // blocked signals are queued even when ignored
		call(task0, unix.SYS_KILL, 1, uintptr(c.sig))
		task0.SetSigmask(0)
		task0.DeliverSignals()
		switch {
		case c.status < 0 && task0.Exited:
			t.Errorf("%v: exited", c.sig)
		case c.status >= 0 && (!task0.Exited || p.Wait() != c.status):
			t.Errorf("%v: exited %v, want status %d", c.sig, task0.Exited, c.status)
		}
		if !strings.Contains(out.String(), c.log) || c.log == "" && out.Len() != 0 {
			t.Errorf("%v: log %q, want %q", c.sig, out.String(), c.log)
		}
	}
}

// A fault with a handler delivers si_addr and the trap details; without
// one the process dies with 128+N and a crash report.
func TestFaultDelivery(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, p)-64)
	sgSetAction(t, task0, buf, int(unix.SIGSEGV), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	task0.Fault(14, 6, 0xbad000) // write to an unmapped page from user mode
	f := sgFrame(t, task0, c.RSP)
	if f.Info.Signo != int32(unix.SIGSEGV) || f.Info.Code != task.SegvMaperr {
		t.Errorf("siginfo %d/%d", f.Info.Signo, f.Info.Code)
	}
	if addr, _ := task0.ReadU64(uintptr(c.RSP + task.FrameInfo + 16)); addr != 0xbad000 {
		t.Errorf("si_addr %#x", addr)
	}
	if sc := f.UC.Mcontext; sc.Trapno != 14 || sc.Err != 6 || sc.CR2 != 0xbad000 || sc.RIP != sgRIP {
		t.Errorf("trapno %d err %d cr2 %#x rip %#x", sc.Trapno, sc.Err, sc.CR2, sc.RIP)
	}
	// #UD without a handler.
	p2, task2, out, _ := newTestProcess(t)
	task2.Ctx.RIP = 0x401234
	task2.Fault(6, 0, 0)
	if p2.Wait() != 128+int(unix.SIGILL) || !strings.Contains(out.String(), "invalid opcode") {
		t.Errorf("status %d, log %q", p2.Wait(), out.String())
	}
	// A blocked fault signal kills even with a handler.
	p3, task3, _, buf3 := newTestProcess(t)
	sgSetAction(t, task3, buf3, int(unix.SIGFPE), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	task3.SetSigmask(1 << (unix.SIGFPE - 1))
	task3.Fault(0, 0, 0)
	if p3.Wait() != 128+int(unix.SIGFPE) {
		t.Errorf("blocked SIGFPE: status %d", p3.Wait())
	}
}

// A pending signal the task does not block ends a blocking wait at once,
// even when it arrived before the wait began.
func TestInterruptBeforeWait(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	task0.WriteU32(buf+256, 0)
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	if r := call(task0, unix.SYS_FUTEX, buf+256, task.FutexWaitOp, 0, 0); r != sgErr(unix.EINTR) {
		t.Errorf("futex wait with a pending signal = %d, want -EINTR", r)
	}
	// A blocked one does not.
	p.Sig.Pending.Drop(^uint64(0))
	task0.ResetInterrupt()
	task0.SetSigmask(1 << (unix.SIGUSR1 - 1))
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	task0.WriteU64(buf+512, 0)
	task0.WriteU64(buf+520, 20e6)
	if r := call(task0, unix.SYS_FUTEX, buf+256, task.FutexWaitOp, 0, buf+512); r != sgErr(unix.ETIMEDOUT) {
		t.Errorf("futex wait with a blocked pending signal = %d, want -ETIMEDOUT", r)
	}
}

func TestRtSigsuspend(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, task0.P)-64)
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer|task.SaRestart, 0)
	usr1, usr2 := uint64(1)<<(unix.SIGUSR1-1), uint64(1)<<(unix.SIGUSR2-1)
	task0.SetSigmask(usr1)
	task0.WriteU64(buf+256, usr2)
	done := make(chan int64)
	go func() {
		c.RAX, c.RDI, c.RSI = unix.SYS_RT_SIGSUSPEND, uint64(buf+256), 8
		task0.Syscall()
		done <- int64(c.RAX)
	}()
	select {
	case r := <-done:
		t.Fatalf("rt_sigsuspend returned %d without a signal", r)
	case <-time.After(20 * time.Millisecond):
	}
	task0.P.SendSignal(nil, task.Siginfo{Signo: int32(unix.SIGUSR1), Code: task.SiUser, Pid: 1})
	if r := <-done; r != sgErr(unix.EINTR) {
		t.Fatalf("rt_sigsuspend = %d, want -EINTR", r)
	}
	task0.DeliverSignals()
	if c.RIP != sgHandler {
		t.Fatalf("handler not run (rip %#x)", c.RIP)
	}
	f := sgFrame(t, task0, c.RSP)
	// The handler runs with the temporary mask plus the signal; its frame
	// holds the original mask, and rt_sigsuspend is not restarted.
	if task0.Sigmask != usr2|usr1 || f.UC.Sigmask != usr1 {
		t.Errorf("handler mask %#x, frame mask %#x", task0.Sigmask, f.UC.Sigmask)
	}
	if f.UC.Mcontext.RAX != uint64(sgErr(unix.EINTR)) || f.UC.Mcontext.RIP != sgRIP {
		t.Errorf("saved rax %#x rip %#x: want -EINTR at the original rip", f.UC.Mcontext.RAX, f.UC.Mcontext.RIP)
	}
	if r := call(task0, unix.SYS_RT_SIGSUSPEND, buf+256, 4); r != sgErr(unix.EINVAL) {
		t.Errorf("sigsetsize 4 = %d", r)
	}
}

func TestRtSigtimedwait(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	usr1 := uint64(1) << (unix.SIGUSR1 - 1)
	task0.SetSigmask(usr1)
	task0.WriteU64(buf, usr1)
	task0.WriteU64(buf+16, 0)
	task0.WriteU64(buf+24, 0) // zero timeout: poll
	if r := call(task0, unix.SYS_RT_SIGTIMEDWAIT, buf, buf+64, buf+16, 8); r != sgErr(unix.EAGAIN) {
		t.Errorf("poll with nothing pending = %d, want -EAGAIN", r)
	}
	call(task0, unix.SYS_TKILL, 1, uintptr(unix.SIGUSR1))
	if r := call(task0, unix.SYS_RT_SIGTIMEDWAIT, buf, buf+64, buf+16, 8); r != int64(unix.SIGUSR1) {
		t.Errorf("pending SIGUSR1 = %d", r)
	}
	if code, _ := task0.ReadU32(buf + 64 + 8); int32(code) != task.SiTkill {
		t.Errorf("si_code %d, want SI_TKILL", int32(code))
	}
	if task0.Pending.Mask != 0 || task0.Sigmask != usr1 {
		t.Errorf("pending %#x, mask %#x", task0.Pending.Mask, task0.Sigmask)
	}
	// Waiting: a signal sent meanwhile is taken.
	go func() {
		time.Sleep(20 * time.Millisecond)
		task0.P.SendSignal(nil, task.Siginfo{Signo: int32(unix.SIGUSR1), Code: task.SiUser, Pid: 1})
	}()
	if r := call(task0, unix.SYS_RT_SIGTIMEDWAIT, buf, 0, 0, 8); r != int64(unix.SIGUSR1) {
		t.Errorf("wait = %d", r)
	}
	task0.WriteU64(buf+24, 10e6)
	if r := call(task0, unix.SYS_RT_SIGTIMEDWAIT, buf, 0, buf+16, 8); r != sgErr(unix.EAGAIN) {
		t.Errorf("10ms timeout = %d, want -EAGAIN", r)
	}
}

// scriptRunner plays an app: each Run calls the next step, which leaves
// the context as the app would (a syscall, a fault); at the end of the
// script the process exits.
type scriptRunner struct {
	steps []func(c *machine.AppContext)
}

func (r *scriptRunner) Run(t *task.Task) {
	if len(r.steps) == 0 {
		t.Exit(0, true)
		return
	}
	step := r.steps[0]
	r.steps = r.steps[1:]
	step(t.Ctx)
}

func (r *scriptRunner) Interrupt(t *task.Task) { t.Wake() }

// sgSyscall makes c look like the app executed SYSCALL nr at sgRIP.
func sgSyscall(c *machine.AppContext, nr uint64, args ...uint64) {
	c.Vector, c.RAX, c.RIP = machine.EventSyscall, nr, sgRIP
	regs := []*uint64{&c.RDI, &c.RSI, &c.RDX, &c.R10, &c.R8, &c.R9}
	for i, a := range args {
		*regs[i] = a
	}
}

// sgFutexWaiters waits until addr has a futex waiter.
func sgFutexWaiters(t *testing.T, p *task.Process, addr uintptr) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		ft := p.MM.Futexes
		ft.Mu.Lock()
		n := len(ft.Waiters[addr])
		ft.Mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no futex waiter")
		}
	}
}

// A syscall interrupted by a handler with SA_RESTART is restarted when the
// handler returns: the frame holds RIP-2 and the syscall number. Without
// SA_RESTART it returns EINTR.
func TestSyscallRestart(t *testing.T) {
	for _, restart := range []bool{true, false} {
		p, task0, _, buf := newTestProcess(t)
		sgRegs(task0.Ctx, sgStack(t, p)-64)
		flags := uint64(task.SaSiginfo | task.SaRestorer)
		if restart {
			flags |= task.SaRestart
		}
		sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, flags, 0)
		word := buf + 256
		task0.WriteU32(word, 0)
		var f kRtSigframe
		var handlerRIP uint64
		r := &scriptRunner{steps: []func(c *machine.AppContext){
			func(c *machine.AppContext) {
				sgSyscall(c, unix.SYS_FUTEX, uint64(word), task.FutexWaitOp|task.FutexPrivateFlag, 0, 0)
				go func() {
					sgFutexWaiters(t, p, word)
					p.SendSignal(task0, task.Siginfo{Signo: int32(unix.SIGUSR1), Code: task.SiTkill, Pid: 1})
				}()
			},
			func(c *machine.AppContext) {
				handlerRIP = c.RIP
				f = sgFrame(t, task0, c.RSP)
				c.RSP += 8 // ret into the restorer
				sgSyscall(c, unix.SYS_RT_SIGRETURN)
			},
		}}
		p.Runner = r
		task0.Loop()
		if handlerRIP != sgHandler {
			t.Fatalf("restart %v: handler not run (rip %#x)", restart, handlerRIP)
		}
		sc := f.UC.Mcontext
		if restart && (sc.RIP != sgRIP-2 || sc.RAX != unix.SYS_FUTEX) {
			t.Errorf("SA_RESTART: saved rip %#x rax %d, want %#x %d", sc.RIP, sc.RAX, sgRIP-2, unix.SYS_FUTEX)
		}
		if !restart && (sc.RIP != sgRIP || sc.RAX != uint64(sgErr(unix.EINTR))) {
			t.Errorf("no SA_RESTART: saved rip %#x rax %#x, want %#x -EINTR", sc.RIP, sc.RAX, sgRIP)
		}
		// After rt_sigreturn the task resumed at the saved context.
		if task0.Ctx.RIP != sc.RIP || task0.Ctx.RAX != sc.RAX {
			t.Errorf("after rt_sigreturn rip %#x rax %#x", task0.Ctx.RIP, task0.Ctx.RAX)
		}
	}
}

// A signal taken by nobody's handler (here: ignored after it interrupted
// the wait) restarts a restartable syscall transparently.
func TestRestartWithoutHandler(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	task0.Ctx.RIP = sgRIP
	task0.Restart, task0.RestartNr = task.RestartSys, unix.SYS_READ
	task0.Ctx.RAX = uint64(sgErr(unix.EINTR))
	task0.DeliverSignals()
	if task0.Ctx.RIP != sgRIP-2 || task0.Ctx.RAX != unix.SYS_READ {
		t.Errorf("rip %#x rax %#x, want a restart", task0.Ctx.RIP, task0.Ctx.RAX)
	}
	task0.Ctx.RIP = sgRIP
	task0.Restart, task0.RestartNr = task.Restartable(unix.SYS_EPOLL_WAIT, task.Args{}), unix.SYS_EPOLL_WAIT
	task0.Ctx.RAX = uint64(sgErr(unix.EINTR))
	task0.DeliverSignals()
	if task0.Ctx.RIP != sgRIP || task0.Ctx.RAX != uint64(sgErr(unix.EINTR)) {
		t.Errorf("epoll_wait restarted")
	}
}

// A process-directed signal wakes a thread that does not block it.
func TestProcessSignalTarget(t *testing.T) {
	_, main, _, buf := newTestProcess(t)
	sgSetAction(t, main, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	var started []*task.Task
	old := task.StartTask
	task.StartTask = func(t *task.Task) { started = append(started, t) }
	defer func() { task.StartTask = old }()
	usr1 := uint64(1) << (unix.SIGUSR1 - 1)
	main.SetSigmask(usr1)
	tid := call(main, unix.SYS_CLONE, task.CloneThread|unix.CLONE_FS|unix.CLONE_FILES, 0, 0, 0, 0)
	if tid != 2 || len(started) != 1 {
		t.Fatalf("clone = %d", tid)
	}
	child := started[0]
	if child.Sigmask != usr1 {
		t.Errorf("child mask %#x, want the parent's", child.Sigmask)
	}
	child.SetSigmask(0)
	word := buf + 256
	main.WriteU32(word, 0)
	done := make(chan int64, 1)
	go func() { done <- call(child, unix.SYS_FUTEX, word, task.FutexWaitOp, 0, 0) }()
	sgFutexWaiters(t, main.P, word)
	call(main, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	if r := <-done; r != sgErr(unix.EINTR) {
		t.Errorf("thread's futex wait = %d, want -EINTR", r)
	}
	if info, _, ok := main.DequeueSignal(); ok {
		t.Errorf("the main thread, which blocks it, took signal %d", info.Signo)
	}
	if info, _, ok := child.DequeueSignal(); !ok || info.Signo != int32(unix.SIGUSR1) {
		t.Errorf("the thread cannot take the signal")
	}
}

// On a CPU without XSAVE the frame holds a 512-byte FXSAVE image (no
// UC_FP_XSTATE, no FP_XSTATE_MAGIC2), and rt_sigreturn brings it back.
func TestSignalFrameFXSAVE(t *testing.T) {
	old := task.FpuLayout
	task.FpuLayout = func() (int, bool, uint64) { return 512, false, 3 }
	defer func() { task.FpuLayout = old }()
	p, task0, _, buf := newTestProcess(t)
	c := task0.Ctx
	sgRegs(c, sgStack(t, p)-64)
	img := c.FPUImage()[:512]
	for i := range img {
		img[i] = byte(i * 3)
	}
	le.PutUint32(img[task.FpMXCSR:], 0x1f80)
	le.PutUint32(img[task.FpMXCSRMask:], 0xffff)
	want := append([]byte(nil), img[:task.FpSwBytes]...)
	sgSetAction(t, task0, buf, int(unix.SIGUSR1), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	call(task0, unix.SYS_KILL, 1, uintptr(unix.SIGUSR1))
	task0.DeliverSignals()
	frame := c.RSP
	f := sgFrame(t, task0, frame)
	if f.UC.Flags != task.UcSigcontextSS|task.UcStrictRestoreSS {
		t.Errorf("uc_flags %#x", f.UC.Flags)
	}
	fp := f.UC.Mcontext.Fpstate
	got := make([]byte, 512)
	task0.CopyIn(got, uintptr(fp))
	if fp%64 != 0 || fp < frame+task.FrameSize || !bytes.Equal(got[:task.FpSwBytes], want) {
		t.Errorf("fpstate at %#x (frame %#x) differs", fp, frame)
	}
	if m := le.Uint32(got[task.FpSwBytes:]); m != 0x46505853 {
		t.Errorf("magic1 %#x", m)
	}
	c.RSP = frame + 8
	c.RAX = unix.SYS_RT_SIGRETURN
	task0.Syscall()
	if task0.Exited || !bytes.Equal(c.FPUImage()[:task.FpSwBytes], want) {
		t.Errorf("FXSAVE image not restored (exited %v)", task0.Exited)
	}
}

// Like Linux, kill() hands a process-directed signal to one thread (the
// main thread first): the sender, though it does not block the signal,
// does not take it on its way back to the app. When the chosen thread
// blocks it before acting, another thread gets it.
func TestKillTargetsOneThread(t *testing.T) {
	_, main, _, buf := newTestProcess(t)
	started := clCapture(t)
	sgSetAction(t, main, buf, int(unix.SIGALRM), sgHandler, task.SaSiginfo|task.SaRestorer, 0)
	call(main, unix.SYS_CLONE, task.CloneThread, 0, 0, 0, 0)
	child := (*started)[0]
	word := buf + 256
	main.WriteU32(word, 0)
	done := make(chan int64, 1)
	go func() { done <- call(main, unix.SYS_FUTEX, word, task.FutexWaitOp, 0, 0) }()
	sgFutexWaiters(t, main.P, word)
	call(child, unix.SYS_KILL, 1, uintptr(unix.SIGALRM))
	if info, _, ok := child.DequeueSignal(); ok {
		t.Errorf("the sender took signal %d", info.Signo)
	}
	if r := <-done; r != sgErr(unix.EINTR) {
		t.Errorf("main thread's wait = %d, want -EINTR", r)
	}
	// The main thread blocks it before acting: the signal moves on.
	main.SetSigmask(1 << (unix.SIGALRM - 1))
	if info, _, ok := child.DequeueSignal(); !ok || info.Signo != int32(unix.SIGALRM) {
		t.Errorf("the other thread did not get the signal (%v)", ok)
	}
}
