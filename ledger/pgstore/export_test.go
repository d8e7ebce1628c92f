package pgstore

// DecodeData and DecodeMeta expose the fast decoders to the external tests.
var (
	DecodeData = decodeData
	DecodeMeta = decodeMeta
)
