using System.Security.Cryptography;
using System.Text.Unicode;

namespace CharRnn.Fast.Data;

/// <summary>
/// Passes the text on to <paramref name="inner"/> and hashes it as UTF-8 on the way (SHA-256): the fingerprint of the
/// text a token store holds, computed while it is encoded so that it never needs decoding again.
/// </summary>
internal sealed class Utf8HashSink(TextChunkSink inner) : TextChunkSink
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _utf8 = [];

    public override void Write(ReadOnlySpan<char> text)
    {
        inner.Write(text);
        if (_utf8.Length < text.Length * 3) _utf8 = new byte[text.Length * 3]; // a UTF-16 unit never takes more than 3 UTF-8 bytes
        var status = Utf8.FromUtf16(text, _utf8, out _, out int written, replaceInvalidSequences: false); // chunks hold whole surrogate pairs
        if (status != System.Buffers.OperationStatus.Done) throw new InvalidOperationException($"re-encoding decoded text as UTF-8 returned {status}");
        _hash.AppendData(_utf8, 0, written);
    }

    public override void EndOfFile() => inner.EndOfFile();

    /// <summary>The SHA-256 of everything written (lowercase hex); the hash starts over.</summary>
    public string TakeSha256() => Convert.ToHexStringLower(_hash.GetHashAndReset());
}
