package task

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
	FrameUC       = 8
	FrameInfo     = FrameUC + UcSize // 312
	FrameSize     = FrameInfo + SiginfoSize

	// struct ucontext
	UcFlags    = 0
	UcLink     = 8
	UcStack    = 16 // stack_t: void *ss_sp; int ss_flags; size_t ss_size
	UcMcontext = 40 // struct sigcontext
	UcSigmask  = UcMcontext + ScSize
	UcSize     = UcSigmask + 8

	// struct sigcontext (64-bit)
	ScR8      = 0
	ScRDI     = 64
	ScRSI     = 72
	ScRBP     = 80
	ScRBX     = 88
	ScRDX     = 96
	ScRAX     = 104
	ScRCX     = 112
	ScRSP     = 120
	ScRIP     = 128
	ScEFLAGS  = 136
	ScCS      = 144 // __u16 cs, gs, fs, ss
	ScGS      = 146
	ScFS      = 148
	ScSS      = 150
	ScErr     = 152
	ScTrapno  = 160
	ScOldmask = 168
	ScCR2     = 176
	ScFpstate = 184
	ScSize    = 256 // ... __u64 reserved1[8]

	// uc_flags
	UcFPXState        = 1 // UC_FP_XSTATE: the FPU state is an XSAVE image
	UcSigcontextSS    = 2 // UC_SIGCONTEXT_SS
	UcStrictRestoreSS = 4 // UC_STRICT_RESTORE_SS

	// FPU state (uapi/asm/sigcontext.h struct _fpx_sw_bytes; XSAVE layout)
	FpMXCSR           = 24
	FpMXCSRMask       = 28
	FpSwBytes         = 464 // magic1, extended_size, xfeatures (u64), xstate_size, padding[7]
	FpLegacySize      = 512
	fpXstateMagic1    = 0x46505853 // "FPXS"
	fpXstateMagic2    = 0x46505845 // "FPXE"
	fpMagic2Size      = 4
	XsaveHeader       = 512 // XSTATE_BV, XCOMP_BV, reserved: 64 bytes
	xsaveMinSize      = XsaveHeader + 64
	XfeatureMaskFPSSE = 3
	RedZone           = 128
)

// Stack_t flags (sigaltstack(2)).
const (
	SsOnstack       = 1
	SsDisable       = 2
	SsAutodisarm    = 1 << 31
	minSigStackSize = 2048 // MINSIGSTKSZ
)

// fixEflags are the RFLAGS bits rt_sigreturn takes from the frame
// (FIX_EFLAGS): AC, OF, DF, TF, SF, ZF, AF, PF, CF, RF.
const FixEflags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000

// fpuLayout describes the FPU image of an AppContext (machine.FPULayout;
// tests replace it to exercise the XSAVE format on any host).
var FpuLayout = machine.FPULayout

// altStack is a task's alternate signal stack (sigaltstack(2)).
type AltStack struct {
	Sp, Size uint64
	Flags    uint32 // as the app gave them: SS_DISABLE, SS_ONSTACK, SS_AUTODISARM
}

// contains is __on_sig_stack: sp (a stack pointer, pointing just above
// the data) lies in the stack.
func (a *AltStack) contains(sp uint64) bool {
	return sp > a.Sp && sp-a.Sp <= a.Size
}

// on is on_sig_stack: never true with SS_AUTODISARM.
func (a *AltStack) on(sp uint64) bool {
	return a.Flags&SsAutodisarm == 0 && a.contains(sp)
}

// flagsAt is sas_ss_flags: SS_DISABLE, SS_ONSTACK or 0 for a thread
// running at sp.
func (a *AltStack) FlagsAt(sp uint64) uint32 {
	switch {
	case a.Size == 0:
		return SsDisable
	case a.on(sp):
		return SsOnstack
	}
	return 0
}

// sigcontextRegs lists the general registers of c in sigcontext order
// (r8 .. r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags).
func SigcontextRegs(c *machine.AppContext) [18]*uint64 {
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
func (t *Task) runHandler(sig unix.Signal, act Sigaction, info *Siginfo, trap *trapInfo) error {
	c := t.Ctx
	// An interrupted syscall restarts under SA_RESTART (ERESTARTSYS);
	// otherwise it returns EINTR to the interrupted code.
	if t.Restart == RestartSys && act.Flags&SaRestart != 0 {
		t.rewindSyscall()
	}
	t.Restart = restartNever

	if act.Flags&SaRestorer == 0 {
		return errNoRestorer
	}
	if act.Handler >= AppLimit {
		return fmt.Errorf("handler address %#x outside the app", act.Handler)
	}
	fpSize, xsave, features := FpuLayout()
	fpFrame := uint64(fpSize)
	if xsave {
		fpFrame += fpMagic2Size
	}

	s := &t.P.Sig
	s.Mu.Lock()
	alt := t.Altstack
	oldmask := t.Sigmask
	if t.restoreMask {
		oldmask = t.savedMask
	}
	s.Mu.Unlock()

	// get_sigframe
	sp := c.RSP - RedZone
	nested := alt.on(c.RSP)
	entering := false
	if act.Flags&SaOnstack != 0 && alt.FlagsAt(sp) == 0 {
		sp = alt.Sp + alt.Size
		entering = true
	}
	fpAddr := (sp - fpFrame) &^ 63
	frame := (fpAddr-FrameSize)&^15 - 8
	if (nested || entering) && !alt.contains(frame) {
		return fmt.Errorf("signal %d overflows the alternate stack [%#x, %#x)", sig, alt.Sp, alt.Sp+alt.Size)
	}
	if frame > sp || frame >= AppLimit {
		return fmt.Errorf("signal %d: no room for a frame below %#x", sig, c.RSP)
	}

	b := make([]byte, fpAddr+fpFrame-frame)
	Le.PutUint64(b[framePretcode:], act.Restorer)
	uc := b[FrameUC : FrameUC+UcSize]
	ucflags := uint64(UcSigcontextSS | UcStrictRestoreSS)
	if xsave {
		ucflags |= UcFPXState
	}
	Le.PutUint64(uc[UcFlags:], ucflags)
	Le.PutUint64(uc[UcLink:], 0)
	ssFlags := alt.Flags
	if alt.Size == 0 {
		ssFlags |= SsDisable
	}
	Le.PutUint64(uc[UcStack:], alt.Sp)
	Le.PutUint32(uc[UcStack+8:], ssFlags)
	Le.PutUint64(uc[UcStack+16:], alt.Size)
	mc := uc[UcMcontext : UcMcontext+ScSize]
	for i, r := range SigcontextRegs(c) {
		Le.PutUint64(mc[ScR8+8*i:], *r)
	}
	Le.PutUint16(mc[ScCS:], machine.AppCS)
	Le.PutUint16(mc[ScSS:], machine.AppSS)
	if trap != nil {
		Le.PutUint64(mc[ScErr:], trap.err)
		Le.PutUint64(mc[ScTrapno:], uint64(trap.vector))
		Le.PutUint64(mc[ScCR2:], trap.cr2)
	}
	Le.PutUint64(mc[ScOldmask:], oldmask)
	Le.PutUint64(mc[ScFpstate:], fpAddr)
	Le.PutUint64(uc[UcSigmask:], oldmask)
	info.Encode(b[FrameInfo:])
	writeFPState(b[fpAddr-frame:], c.FPUImage()[:fpSize], xsave, features)

	if err := t.CopyOut(uintptr(frame), b); err != nil {
		return fmt.Errorf("signal %d: cannot write the frame at %#x: %v", sig, frame, err)
	}

	c.RSP = frame
	c.RIP = act.Handler
	c.RDI = uint64(sig)
	c.RSI = frame + FrameInfo
	c.RDX = frame + FrameUC
	c.RAX = 0
	c.RFLAGS &^= 0x400 | 0x100 | 0x10000 // DF, TF, RF
	initFPState(c.FPUImage()[:fpSize])

	// signal_delivered
	s.Mu.Lock()
	mask := t.Sigmask | act.Mask
	if act.Flags&SaNodefer == 0 {
		mask |= SigBit(int(sig))
	}
	t.Sigmask = mask &^ Unblockable
	t.restoreMask = false
	if t.Altstack.Flags&SsAutodisarm != 0 {
		t.Altstack = AltStack{Flags: SsDisable}
	}
	s.Mu.Unlock()
	return nil
}

// writeFPState writes the FPU state of a frame into dst: the image, the
// fpx_sw_bytes and, for XSAVE, FP_XSTATE_MAGIC2 after it; XSTATE_BV gets
// x87 and SSE so that a restore reads them from the frame
// (copy_fpstate_to_sigframe, save_xstate_epilog).
func writeFPState(dst, img []byte, xsave bool, features uint64) {
	n := copy(dst, img)
	sw := dst[FpSwBytes:FpLegacySize]
	clear(sw)
	Le.PutUint32(sw[0:], fpXstateMagic1)
	Le.PutUint32(sw[4:], uint32(n+fpMagic2Size)) // extended_size
	Le.PutUint64(sw[8:], features)               // xfeatures
	Le.PutUint32(sw[16:], uint32(n))             // xstate_size
	if xsave {
		Le.PutUint32(dst[n:], fpXstateMagic2)
		bv := Le.Uint64(dst[XsaveHeader:]) | XfeatureMaskFPSSE
		Le.PutUint64(dst[XsaveHeader:], bv)
	}
}

// initFPState makes img the FPU's initial state (fpu__clear_user_states):
// x87 control word 0x37f, MXCSR 0x1f80, everything else clear; an XSAVE
// header with XSTATE_BV 0 puts every other component in its init state.
func initFPState(img []byte) {
	mxcsrMask := Le.Uint32(img[FpMXCSRMask:])
	clear(img)
	Le.PutUint16(img[0:], 0x37f)
	Le.PutUint32(img[FpMXCSR:], 0x1f80)
	Le.PutUint32(img[FpMXCSRMask:], mxcsrMask)
}

// readFPState reads the FPU state a signal frame points at (sigcontext
// fpstate; 0: the initial state) and returns a sanitised image for the
// context: MXCSR must be valid (else an error, like the #GP Linux turns
// into SIGSEGV); an XSAVE image is used only with valid fpx_sw_bytes and
// FP_XSTATE_MAGIC2, otherwise just its x87/SSE part; XSTATE_BV is cut to
// the enabled features and the rest of the XSAVE header is cleared, so the
// image can be loaded with XRSTOR (fpu__restore_sig).
func (t *Task) readFPState(addr uint64, cur []byte) ([]byte, error) {
	size, xsave, features := FpuLayout()
	img := make([]byte, size)
	if addr == 0 {
		copy(img, cur)
		initFPState(img)
		return img, nil
	}
	if addr >= AppLimit {
		return nil, unix.EFAULT
	}
	if err := t.CopyIn(img[:FpLegacySize], uintptr(addr)); err != nil {
		return nil, err
	}
	mask := Le.Uint32(cur[FpMXCSRMask:])
	if mask == 0 {
		mask = 0xffbf
	}
	if Le.Uint32(img[FpMXCSR:])&^mask != 0 {
		return nil, fmt.Errorf("invalid MXCSR %#x", Le.Uint32(img[FpMXCSR:]))
	}
	if !xsave {
		return img, nil
	}
	// check_xstate_in_sigframe
	sw := img[FpSwBytes:FpLegacySize]
	bv := uint64(XfeatureMaskFPSSE)
	xs := int(Le.Uint32(sw[16:]))
	if Le.Uint32(sw[0:]) == fpXstateMagic1 && xs >= xsaveMinSize && xs <= size && uint32(xs) <= Le.Uint32(sw[4:]) {
		magic2, err := t.ReadU32(uintptr(addr) + uintptr(xs))
		if err != nil {
			return nil, err
		}
		if magic2 == fpXstateMagic2 {
			if err := t.CopyIn(img[FpLegacySize:xs], uintptr(addr)+FpLegacySize); err != nil {
				return nil, err
			}
			bv = Le.Uint64(img[XsaveHeader:]) & Le.Uint64(sw[8:]) & features
		}
	}
	clear(img[XsaveHeader : XsaveHeader+64])
	Le.PutUint64(img[XsaveHeader:], bv)
	clear(sw)
	return img, nil
}

// sigreturn restores what runHandler saved, from the frame the handler's
// return popped (RSP-8): registers, signal mask, FPU state and the
// alternate stack settings (rt_sigreturn(2)).
func (t *Task) Sigreturn() error {
	c := t.Ctx
	frame := uintptr(c.RSP - 8)
	if c.RSP < 8 || frame+FrameSize > AppLimit {
		return fmt.Errorf("frame address %#x outside the app", frame)
	}
	var b [FrameSize]byte
	if err := t.CopyIn(b[:], frame); err != nil {
		return fmt.Errorf("cannot read the frame at %#x: %v", frame, err)
	}
	uc := b[FrameUC : FrameUC+UcSize]
	mc := uc[UcMcontext : UcMcontext+ScSize]
	var regs [18]uint64
	for i := range regs {
		regs[i] = Le.Uint64(mc[ScR8+8*i:])
	}
	if rip := regs[16]; rip >= AppLimit {
		return fmt.Errorf("return address %#x outside the app", rip)
	}
	fp, err := t.readFPState(Le.Uint64(mc[ScFpstate:]), c.FPUImage())
	if err != nil {
		return fmt.Errorf("FPU state at %#x: %v", Le.Uint64(mc[ScFpstate:]), err)
	}

	flags := c.RFLAGS
	for i, r := range SigcontextRegs(c) {
		*r = regs[i]
	}
	c.RFLAGS = flags&^FixEflags | regs[17]&FixEflags
	copy(c.FPUImage(), fp)
	t.SetSigmask(Le.Uint64(uc[UcSigmask:]))
	// restore_altstack: failures other than EFAULT are ignored.
	ss := AltStack{Sp: Le.Uint64(uc[UcStack:]), Flags: Le.Uint32(uc[UcStack+8:]), Size: Le.Uint64(uc[UcStack+16:])}
	t.SetAltStack(ss, c.RSP)
	return nil
}

// setAltStack is the setting half of sigaltstack(2) for a thread
// running at sp: EPERM while on the current alternate stack, EINVAL for
// unknown flags, ENOMEM below MINSIGSTKSZ.
func (t *Task) SetAltStack(ss AltStack, sp uint64) error {
	s := &t.P.Sig
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if t.Altstack.on(sp) {
		return unix.EPERM
	}
	switch ss.Flags &^ SsAutodisarm {
	case SsDisable:
		ss.Sp, ss.Size = 0, 0
	case 0, SsOnstack:
		if ss.Size < minSigStackSize {
			return unix.ENOMEM
		}
	default:
		return unix.EINVAL
	}
	t.Altstack = ss
	return nil
}
