package crypt

import "testing"

func TestAES256GCM(t *testing.T) {
	checkVector(t, AES256GCM, 32, "398109e91567f9021a611dddba468cba46c722d3c3e6ec0fc0ea43c56c2c5498bed1da1218aa007ec36678a87b")
}
