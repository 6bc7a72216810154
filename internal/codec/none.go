package codec

func init() { register(none{}) }

// none stores chunks as they are (flag Raw).
type none struct{}

func (none) Name() string         { return "none" }
func (none) Flag() byte           { return Raw }
func (none) Levels() []string     { return nil }
func (none) DefaultLevel() string { return "" }
func (none) Default() bool        { return false }

func (none) NewEncoder(string, int, int) (Encoder, error) { return nil, nil }
func (none) NewDecoder(int) (Decoder, error)              { return nil, nil }
