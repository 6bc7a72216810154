package crypt

import "testing"

func TestNone(t *testing.T) {
	checkVector(t, None, 0, "72625f6d6f64756c655f7275737461636b1e2c8c97dad9d335927dba591d9b7eca")
	// The tag is a fixed function of the message: sealing is deterministic.
	var k [32]byte
	s, _ := NewSealer(None, k)
	if got := s.Seal(nil, []byte("rb_module_rustack"), []byte("ad")); string(got) != string(mustHex("72625f6d6f64756c655f7275737461636b1e2c8c97dad9d335927dba591d9b7eca")) {
		t.Fatalf("none sealed %x", got)
	}
}
