package linux

import (
	"errors"
	"fmt"

	"github.com/gosv/gosv/kernel/machine"
	"golang.org/x/sys/unix"
)

// The x86-64 signal frame, laid out exactly as Linux writes it
// (arch/x86/kernel/signal.c, signal_64.c, fpu/signal.c; uapi asm/sigframe.h,
// asm/ucontext.h, asm/sigcontext.h). From the handler's RSP up:
//
//	struct rt_sigframe {
//		char *pretcode;        // sa_restorer: the handler's return address
//		struct ucontext uc;    // flags, link, stack_t, sigcontext, sigmask
//		struct siginfo info;   // 128 bytes
//	};
//	... up to 23 bytes of alignment ...
//	FPU state: the XSAVE (FXSAVE) image, 64-byte aligned, with the
//	fpx_sw_bytes in its software-reserved bytes 464..511 and
//	FP_XSTATE_MAGIC2 right after the image.
//
// sigcontext.fpstate points at the FPU state. The frame sits below the
// interrupted RSP minus the 128-byte red zone, or at the top of the
// alternate signal stack.
const (
	// struct rt_sigframe
	framePretcode = 0
	frameUC       = 8
	frameInfo     = frameUC + ucSize // 312
	frameSize     = frameInfo + siginfoSize

	// struct ucontext
	ucFlags    = 0
	ucLink     = 8
	ucStack    = 16 // stack_t: void *ss_sp; int ss_flags; size_t ss_size
	ucMcontext = 40 // struct sigcontext
	ucSigmask  = ucMcontext + scSize
	ucSize     = ucSigmask + 8

	// struct sigcontext (64-bit)
	scR8      = 0
	scRDI     = 64
	scRSI     = 72
	scRBP     = 80
	scRBX     = 88
	scRDX     = 96
	scRAX     = 104
	scRCX     = 112
	scRSP     = 120
	scRIP     = 128
	scEFLAGS  = 136
	scCS      = 144 // __u16 cs, gs, fs, ss
	scGS      = 146
	scFS      = 148
	scSS      = 150
	scErr     = 152
	scTrapno  = 160
	scOldmask = 168
	scCR2     = 176
	scFpstate = 184
	scSize    = 256 // ... __u64 reserved1[8]

	// uc_flags
	ucFPXState        = 1 // UC_FP_XSTATE: the FPU state is an XSAVE image
	ucSigcontextSS    = 2 // UC_SIGCONTEXT_SS
	ucStrictRestoreSS = 4 // UC_STRICT_RESTORE_SS

	// FPU state (uapi/asm/sigcontext.h struct _fpx_sw_bytes; XSAVE layout)
	fpMXCSR           = 24
	fpMXCSRMask       = 28
	fpSwBytes         = 464 // magic1, extended_size, xfeatures (u64), xstate_size, padding[7]
	fpLegacySize      = 512
	fpXstateMagic1    = 0x46505853 // "FPXS"
	fpXstateMagic2    = 0x46505845 // "FPXE"
	fpMagic2Size      = 4
	xsaveHeader       = 512 // XSTATE_BV, XCOMP_BV, reserved: 64 bytes
	xsaveMinSize      = xsaveHeader + 64
	xfeatureMaskFPSSE = 3
	redZone           = 128
)

// Stack_t flags (sigaltstack(2)).
const (
	ssOnstack       = 1
	ssDisable       = 2
	ssAutodisarm    = 1 << 31
	minSigStackSize = 2048 // MINSIGSTKSZ
)

// fixEflags are the RFLAGS bits rt_sigreturn takes from the frame
// (FIX_EFLAGS): AC, OF, DF, TF, SF, ZF, AF, PF, CF, RF.
const fixEflags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000

// fpuLayout describes the FPU image of an AppContext (machine.FPULayout;
// tests replace it to exercise the XSAVE format on any host).
var fpuLayout = machine.FPULayout

// altStack is a task's alternate signal stack (sigaltstack(2)).
type altStack struct {
	sp, size uint64
	flags    uint32 // as the app gave them: SS_DISABLE, SS_ONSTACK, SS_AUTODISARM
}

// contains is __on_sig_stack: sp (a stack pointer, pointing just above
// the data) lies in the stack.
func (a *altStack) contains(sp uint64) bool {
	return sp > a.sp && sp-a.sp <= a.size
}

// on is on_sig_stack: never true with SS_AUTODISARM.
func (a *altStack) on(sp uint64) bool {
	return a.flags&ssAutodisarm == 0 && a.contains(sp)
}

// flagsAt is sas_ss_flags: SS_DISABLE, SS_ONSTACK or 0 for a thread
// running at sp.
func (a *altStack) flagsAt(sp uint64) uint32 {
	switch {
	case a.size == 0:
		return ssDisable
	case a.on(sp):
		return ssOnstack
	}
	return 0
}

// sigcontextRegs lists the general registers of c in sigcontext order
// (r8 .. r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags).
func sigcontextRegs(c *machine.AppContext) [18]*uint64 {
	return [18]*uint64{&c.R8, &c.R9, &c.R10, &c.R11, &c.R12, &c.R13, &c.R14, &c.R15,
		&c.RDI, &c.RSI, &c.RBP, &c.RBX, &c.RDX, &c.RAX, &c.RCX, &c.RSP, &c.RIP, &c.RFLAGS}
}

var errNoRestorer = errors.New("handler without SA_RESTORER")

// runHandler sets the app up to run handler act for sig on return to user
// mode: it writes an rt_sigframe saving the current registers, mask and
// FPU state, points RIP at the handler with RDI = sig, RSI = &info,
// RDX = &uc, RAX = 0 and RSP at the frame (so RSP+8 is 16-byte aligned),
// resets the FPU, and blocks sa_mask plus sig (unless SA_NODEFER). trap
// is the CPU exception behind a fault signal, or nil. An error means the
// frame could not be built; the caller kills the process with SIGSEGV.
func (t *Task) runHandler(sig unix.Signal, act sigaction, info *siginfo, trap *trapInfo) error {
	c := t.Ctx
	// An interrupted syscall restarts under SA_RESTART (ERESTARTSYS);
	// otherwise it returns EINTR to the interrupted code.
	if t.restart == restartSys && act.Flags&saRestart != 0 {
		t.rewindSyscall()
	}
	t.restart = restartNever

	if act.Flags&saRestorer == 0 {
		return errNoRestorer
	}
	if act.Handler >= AppLimit {
		return fmt.Errorf("handler address %#x outside the app", act.Handler)
	}
	fpSize, xsave, features := fpuLayout()
	fpFrame := uint64(fpSize)
	if xsave {
		fpFrame += fpMagic2Size
	}

	s := &t.P.sig
	s.mu.Lock()
	alt := t.altstack
	oldmask := t.sigmask
	if t.restoreMask {
		oldmask = t.savedMask
	}
	s.mu.Unlock()

	// get_sigframe
	sp := c.RSP - redZone
	nested := alt.on(c.RSP)
	entering := false
	if act.Flags&saOnstack != 0 && alt.flagsAt(sp) == 0 {
		sp = alt.sp + alt.size
		entering = true
	}
	fpAddr := (sp - fpFrame) &^ 63
	frame := (fpAddr-frameSize)&^15 - 8
	if (nested || entering) && !alt.contains(frame) {
		return fmt.Errorf("signal %d overflows the alternate stack [%#x, %#x)", sig, alt.sp, alt.sp+alt.size)
	}
	if frame > sp || frame >= AppLimit {
		return fmt.Errorf("signal %d: no room for a frame below %#x", sig, c.RSP)
	}

	b := make([]byte, fpAddr+fpFrame-frame)
	le.PutUint64(b[framePretcode:], act.Restorer)
	uc := b[frameUC : frameUC+ucSize]
	ucflags := uint64(ucSigcontextSS | ucStrictRestoreSS)
	if xsave {
		ucflags |= ucFPXState
	}
	le.PutUint64(uc[ucFlags:], ucflags)
	le.PutUint64(uc[ucLink:], 0)
	ssFlags := alt.flags
	if alt.size == 0 {
		ssFlags |= ssDisable
	}
	le.PutUint64(uc[ucStack:], alt.sp)
	le.PutUint32(uc[ucStack+8:], ssFlags)
	le.PutUint64(uc[ucStack+16:], alt.size)
	mc := uc[ucMcontext : ucMcontext+scSize]
	for i, r := range sigcontextRegs(c) {
		le.PutUint64(mc[scR8+8*i:], *r)
	}
	le.PutUint16(mc[scCS:], machine.AppCS)
	le.PutUint16(mc[scSS:], machine.AppSS)
	if trap != nil {
		le.PutUint64(mc[scErr:], trap.err)
		le.PutUint64(mc[scTrapno:], uint64(trap.vector))
		le.PutUint64(mc[scCR2:], trap.cr2)
	}
	le.PutUint64(mc[scOldmask:], oldmask)
	le.PutUint64(mc[scFpstate:], fpAddr)
	le.PutUint64(uc[ucSigmask:], oldmask)
	info.encode(b[frameInfo:])
	writeFPState(b[fpAddr-frame:], c.FPUImage()[:fpSize], xsave, features)

	if err := t.CopyOut(uintptr(frame), b); err != nil {
		return fmt.Errorf("signal %d: cannot write the frame at %#x: %v", sig, frame, err)
	}

	c.RSP = frame
	c.RIP = act.Handler
	c.RDI = uint64(sig)
	c.RSI = frame + frameInfo
	c.RDX = frame + frameUC
	c.RAX = 0
	c.RFLAGS &^= 0x400 | 0x100 | 0x10000 // DF, TF, RF
	initFPState(c.FPUImage()[:fpSize])

	// signal_delivered
	s.mu.Lock()
	mask := t.sigmask | act.Mask
	if act.Flags&saNodefer == 0 {
		mask |= sigBit(int(sig))
	}
	t.sigmask = mask &^ unblockable
	t.restoreMask = false
	if t.altstack.flags&ssAutodisarm != 0 {
		t.altstack = altStack{flags: ssDisable}
	}
	s.mu.Unlock()
	return nil
}

// writeFPState writes the FPU state of a frame into dst: the image, the
// fpx_sw_bytes and, for XSAVE, FP_XSTATE_MAGIC2 after it; XSTATE_BV gets
// x87 and SSE so that a restore reads them from the frame
// (copy_fpstate_to_sigframe, save_xstate_epilog).
func writeFPState(dst, img []byte, xsave bool, features uint64) {
	n := copy(dst, img)
	sw := dst[fpSwBytes:fpLegacySize]
	clear(sw)
	le.PutUint32(sw[0:], fpXstateMagic1)
	le.PutUint32(sw[4:], uint32(n+fpMagic2Size)) // extended_size
	le.PutUint64(sw[8:], features)               // xfeatures
	le.PutUint32(sw[16:], uint32(n))             // xstate_size
	if xsave {
		le.PutUint32(dst[n:], fpXstateMagic2)
		bv := le.Uint64(dst[xsaveHeader:]) | xfeatureMaskFPSSE
		le.PutUint64(dst[xsaveHeader:], bv)
	}
}

// initFPState makes img the FPU's initial state (fpu__clear_user_states):
// x87 control word 0x37f, MXCSR 0x1f80, everything else clear; an XSAVE
// header with XSTATE_BV 0 puts every other component in its init state.
func initFPState(img []byte) {
	mxcsrMask := le.Uint32(img[fpMXCSRMask:])
	clear(img)
	le.PutUint16(img[0:], 0x37f)
	le.PutUint32(img[fpMXCSR:], 0x1f80)
	le.PutUint32(img[fpMXCSRMask:], mxcsrMask)
}

// readFPState reads the FPU state a signal frame points at (sigcontext
// fpstate; 0: the initial state) and returns a sanitised image for the
// context: MXCSR must be valid (else an error, like the #GP Linux turns
// into SIGSEGV); an XSAVE image is used only with valid fpx_sw_bytes and
// FP_XSTATE_MAGIC2, otherwise just its x87/SSE part; XSTATE_BV is cut to
// the enabled features and the rest of the XSAVE header is cleared, so the
// image can be loaded with XRSTOR (fpu__restore_sig).
func (t *Task) readFPState(addr uint64, cur []byte) ([]byte, error) {
	size, xsave, features := fpuLayout()
	img := make([]byte, size)
	if addr == 0 {
		copy(img, cur)
		initFPState(img)
		return img, nil
	}
	if addr >= AppLimit {
		return nil, unix.EFAULT
	}
	if err := t.CopyIn(img[:fpLegacySize], uintptr(addr)); err != nil {
		return nil, err
	}
	mask := le.Uint32(cur[fpMXCSRMask:])
	if mask == 0 {
		mask = 0xffbf
	}
	if le.Uint32(img[fpMXCSR:])&^mask != 0 {
		return nil, fmt.Errorf("invalid MXCSR %#x", le.Uint32(img[fpMXCSR:]))
	}
	if !xsave {
		return img, nil
	}
	// check_xstate_in_sigframe
	sw := img[fpSwBytes:fpLegacySize]
	bv := uint64(xfeatureMaskFPSSE)
	xs := int(le.Uint32(sw[16:]))
	if le.Uint32(sw[0:]) == fpXstateMagic1 && xs >= xsaveMinSize && xs <= size && uint32(xs) <= le.Uint32(sw[4:]) {
		magic2, err := t.ReadU32(uintptr(addr) + uintptr(xs))
		if err != nil {
			return nil, err
		}
		if magic2 == fpXstateMagic2 {
			if err := t.CopyIn(img[fpLegacySize:xs], uintptr(addr)+fpLegacySize); err != nil {
				return nil, err
			}
			bv = le.Uint64(img[xsaveHeader:]) & le.Uint64(sw[8:]) & features
		}
	}
	clear(img[xsaveHeader : xsaveHeader+64])
	le.PutUint64(img[xsaveHeader:], bv)
	clear(sw)
	return img, nil
}

// sigreturn restores what runHandler saved, from the frame the handler's
// return popped (RSP-8): registers, signal mask, FPU state and the
// alternate stack settings (rt_sigreturn(2)).
func (t *Task) sigreturn() error {
	c := t.Ctx
	frame := uintptr(c.RSP - 8)
	if c.RSP < 8 || frame+frameSize > AppLimit {
		return fmt.Errorf("frame address %#x outside the app", frame)
	}
	var b [frameSize]byte
	if err := t.CopyIn(b[:], frame); err != nil {
		return fmt.Errorf("cannot read the frame at %#x: %v", frame, err)
	}
	uc := b[frameUC : frameUC+ucSize]
	mc := uc[ucMcontext : ucMcontext+scSize]
	var regs [18]uint64
	for i := range regs {
		regs[i] = le.Uint64(mc[scR8+8*i:])
	}
	if rip := regs[16]; rip >= AppLimit {
		return fmt.Errorf("return address %#x outside the app", rip)
	}
	fp, err := t.readFPState(le.Uint64(mc[scFpstate:]), c.FPUImage())
	if err != nil {
		return fmt.Errorf("FPU state at %#x: %v", le.Uint64(mc[scFpstate:]), err)
	}

	flags := c.RFLAGS
	for i, r := range sigcontextRegs(c) {
		*r = regs[i]
	}
	c.RFLAGS = flags&^fixEflags | regs[17]&fixEflags
	copy(c.FPUImage(), fp)
	t.setSigmask(le.Uint64(uc[ucSigmask:]))
	// restore_altstack: failures other than EFAULT are ignored.
	ss := altStack{sp: le.Uint64(uc[ucStack:]), flags: le.Uint32(uc[ucStack+8:]), size: le.Uint64(uc[ucStack+16:])}
	t.setAltStack(ss, c.RSP)
	return nil
}

// setAltStack is the setting half of sigaltstack(2) for a thread
// running at sp: EPERM while on the current alternate stack, EINVAL for
// unknown flags, ENOMEM below MINSIGSTKSZ.
func (t *Task) setAltStack(ss altStack, sp uint64) error {
	s := &t.P.sig
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.altstack.on(sp) {
		return unix.EPERM
	}
	switch ss.flags &^ ssAutodisarm {
	case ssDisable:
		ss.sp, ss.size = 0, 0
	case 0, ssOnstack:
		if ss.size < minSigStackSize {
			return unix.ENOMEM
		}
	default:
		return unix.EINVAL
	}
	t.altstack = ss
	return nil
}
