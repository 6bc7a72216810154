package httpx

import "testing"

func TestCloudMessage(t *testing.T) {
	cases := map[string]string{
		`{"itemNotFound": {"code": 404, "message": "Volume x could not be found."}}`:           "Volume x could not be found.",
		`{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have"}}`: "The request you have",
		`{"NeutronError": {"type": "X", "message": "boom", "detail": ""}}`:                     "boom",
		`{"message": "top"}`:         "top",
		"<html>Bad gateway</html>\n": "<html>Bad gateway</html>",
	}
	for in, want := range cases {
		if got := cloudMessage([]byte(in)); got != want {
			t.Errorf("cloudMessage(%s) = %q, want %q", in, got, want)
		}
	}
}
