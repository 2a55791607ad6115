using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Data;

/// <summary>
/// The second pass over a corpus: text → token ids of 1, 2 or 4 little-endian bytes, written to a stream a chunk at a
/// time and hashed (SHA-256) as written. BMP characters map through a table indexed by the UTF-16 code unit; the rest
/// through a dictionary.
/// </summary>
internal sealed class TokenEncoder : TextChunkSink
{
    private readonly int[] _bmpIds;                          // [65536] code unit → id, −1 where absent
    private readonly Dictionary<int, int> _supplementaryIds; // scalar ≥ U+10000 → id
    private readonly int _width;
    private readonly Stream _output;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _encoded = [];

    public TokenEncoder(Vocabulary vocabulary, Stream output)
    {
        _bmpIds = new int[char.MaxValue + 1];
        _bmpIds.AsSpan().Fill(-1);
        _supplementaryIds = [];
        for (int id = 0; id < vocabulary.Count; id++)
        {
            int scalar = vocabulary[id].Value;
            if (scalar <= char.MaxValue) _bmpIds[scalar] = id;
            else _supplementaryIds[scalar] = id;
        }
        _width = TokenStoreHeader.BytesPerTokenFor(vocabulary.Count);
        _output = output;
    }

    /// <summary>Tokens written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Encodes and writes; a character outside the vocabulary throws <see cref="UnknownCharactersException"/>.</summary>
    public override void Write(ReadOnlySpan<char> text)
    {
        if (_encoded.Length < text.Length * _width) _encoded = new byte[text.Length * _width];
        int n = _width switch
        {
            1 => Encode(text, _encoded.AsSpan(), _bmpIds, _supplementaryIds),
            2 => Encode(text, MemoryMarshal.Cast<byte, ushort>(_encoded.AsSpan()), _bmpIds, _supplementaryIds),
            _ => Encode(text, MemoryMarshal.Cast<byte, uint>(_encoded.AsSpan()), _bmpIds, _supplementaryIds),
        };
        if (!BitConverter.IsLittleEndian) ToLittleEndian(n);
        _output.Write(_encoded, 0, n * _width);
        _hash.AppendData(_encoded, 0, n * _width);
        Count += n;
    }

    /// <summary>The SHA-256 of every token byte written (lowercase hex).</summary>
    public string TakeSha256() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    // One loop for every width: T is byte, ushort or uint, each compiled to its own specialized code. Runs between
    // surrogate pairs (rare) go through a tight table loop; the search for the next pair is vectorized.
    private static int Encode<T>(ReadOnlySpan<char> text, Span<T> tokens, int[] bmpIds, Dictionary<int, int> supplementaryIds)
        where T : unmanaged, IBinaryInteger<T>
    {
        int n = 0;
        while (!text.IsEmpty)
        {
            int pair = text.IndexOfAnyInRange('\uD800', '\uDFFF');
            var run = pair < 0 ? text : text[..pair];
            EncodeRun(run, tokens.Slice(n, run.Length), bmpIds);
            n += run.Length;
            if (pair < 0) break;
            int scalar = char.ConvertToUtf32(text[pair], text[pair + 1]); // the decoder emits whole pairs only
            if (!supplementaryIds.TryGetValue(scalar, out int id)) ThrowUnknown(scalar);
            tokens[n++] = T.CreateTruncating(id);
            text = text[(pair + 2)..];
        }
        return n;
    }

    // tokens[i] = bmpIds[run[i]]: run[i] < 65,536 = bmpIds.Length, so no bounds checks; an absent character (id −1) makes
    // the OR of the ids negative, checked once after the loop
    private static void EncodeRun<T>(ReadOnlySpan<char> run, Span<T> tokens, int[] bmpIds) where T : unmanaged, IBinaryInteger<T>
    {
        ref int ids = ref MemoryMarshal.GetArrayDataReference(bmpIds);
        ref char c0 = ref MemoryMarshal.GetReference(run);
        ref T t0 = ref MemoryMarshal.GetReference(tokens);
        int any = 0;
        for (int i = 0; i < run.Length; i++)
        {
            int id = Unsafe.Add(ref ids, Unsafe.Add(ref c0, i));
            any |= id;
            Unsafe.Add(ref t0, i) = T.CreateTruncating(id);
        }
        if (any < 0)
            foreach (char c in run)
                if (bmpIds[c] < 0) ThrowUnknown(c);
    }

    private void ToLittleEndian(int count)
    {
        if (_width == 2) { var t = MemoryMarshal.Cast<byte, ushort>(_encoded.AsSpan(0, count * 2)); BinaryPrimitives.ReverseEndianness(t, t); }
        else if (_width == 4) { var t = MemoryMarshal.Cast<byte, uint>(_encoded.AsSpan(0, count * 4)); BinaryPrimitives.ReverseEndianness(t, t); }
    }

    [DoesNotReturn]
    private static void ThrowUnknown(int scalar)
    {
        var s = new Rune(scalar).ToString();
        throw new UnknownCharactersException($"character '{Vocabulary.Escape(s)}' is not in the vocabulary", [s]);
    }
}
