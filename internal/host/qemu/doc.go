// Package qemu runs the gosv kernel on QEMU (qemu-system-x86_64).
//
// It turns the user's choices into a QEMU command line (Config.Args),
// picks the accelerator (ChooseAccel), quotes the kernel command line
// (QuoteCmdline), starts QEMU and decodes the exit status that the kernel
// reports over the host<->guest protocol of docs/internals.md (Run,
// DecodeExit):
//
//   - COM1 (I/O 0x3f8) is the console, wired to the host's stdout;
//   - COM2 (I/O 0x2f8) carries the app's stderr and the kernel's
//     diagnostics, wired to the host's stderr;
//   - a second 16550 at I/O 0x2e8 is the control port, written to a file;
//     the kernel writes "exit N\n" there;
//   - isa-debug-exit at I/O 0xf4 ends QEMU with status ((N&0x7f)<<1)|1.
package qemu
