package qemu

import (
	"bytes"
	"fmt"
	"strconv"
)

// DecodeExit returns the app's exit status (0..255) from QEMU's exit status
// qemuStatus and the bytes the kernel wrote to the control port.
//
// A newline-terminated control line "exit N" (N decimal, 0..255; a trailing
// "\r" is ignored) wins; when there are several, the last one counts. Other
// lines, and an unterminated last line, are ignored; an "exit" line with a
// bad N is an error. Without such a line, an odd qemuStatus s greater than 1
// is isa-debug-exit's ((N&0x7f)<<1)|1 and decodes to s>>1. QEMU status 1
// without a control line is an error: it is what QEMU returns when it fails
// by itself (bad option, kernel it cannot load), so it is not taken as N=0.
// Any other status is the error "the VM stopped without reporting an exit
// status (QEMU exit status %d)".
func DecodeExit(qemuStatus int, control []byte) (status int, err error) {
	found := false
	for len(control) > 0 {
		line, rest, ok := bytes.Cut(control, []byte{'\n'})
		if !ok {
			break // unterminated: the kernel did not finish writing it
		}
		control = rest
		line = bytes.TrimSuffix(line, []byte{'\r'})
		arg, isExit := bytes.CutPrefix(line, []byte("exit "))
		if !isExit {
			continue
		}
		n, perr := strconv.Atoi(string(arg))
		if perr != nil || !allDigits(string(arg)) || len(arg) > 3 || n > 255 {
			return 0, fmt.Errorf("bad exit report %q from the kernel on the control port", line)
		}
		status, found = n, true
	}
	if found {
		return status, nil
	}
	if qemuStatus == 1 {
		return 0, fmt.Errorf("QEMU failed (exit status 1) and the VM reported no exit status")
	}
	if qemuStatus > 1 && qemuStatus&1 == 1 {
		return qemuStatus >> 1, nil
	}
	return 0, fmt.Errorf("the VM stopped without reporting an exit status (QEMU exit status %d)", qemuStatus)
}
