package linux

import "encoding/binary"

// le reads and writes the app's little-endian words and structs.
var le = binary.LittleEndian
