// Package bootproto holds the constants that the host tool and the kernel
// agree on: the I/O ports of the host<->guest protocol, the exit statuses
// and the size of the kernel command line. It imports only the standard
// library, so both halves may use it without importing each other.
package bootproto

// I/O ports and ISA IRQs of the host<->guest protocol (docs/internals.md).
const (
	// ConsolePort is the I/O base of the console 16550 (PC COM1): the
	// app's stdout.
	ConsolePort = 0x3f8
	// StderrPort is the I/O base of the stderr 16550 (PC COM2).
	StderrPort = 0x2f8
	// StderrIRQ is the ISA IRQ of the stderr 16550.
	StderrIRQ = 3
	// ControlPort is the I/O base of the control 16550 (PC COM4): the
	// kernel writes the app's exit status there before powering off.
	ControlPort = 0x2e8
	// ControlIRQ is the ISA IRQ of the control 16550.
	ControlIRQ = 4
	// DebugExitPort is QEMU's isa-debug-exit port (iosize 4).
	DebugExitPort = 0xf4
)

// Exit statuses, as docker run and a POSIX shell use them.
const (
	// ExitRunnerFailed: gosv (host or kernel) failed itself.
	ExitRunnerFailed = 125
	// ExitCannotExec: the app exists but cannot be executed.
	ExitCannotExec = 126
	// ExitNotFound: the app was not found.
	ExitNotFound = 127
	// ExitSignalBase: an app killed by signal N exits with ExitSignalBase+N.
	ExitSignalBase = 128
)

// CmdlineSize is the kernel's command-line buffer, with its terminating
// NUL; MaxCmdline is the longest command line the kernel keeps.
const (
	CmdlineSize = 4096
	MaxCmdline  = CmdlineSize - 1
)
