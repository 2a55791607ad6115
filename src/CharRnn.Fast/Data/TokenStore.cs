using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Data;

/// <summary>
/// A token store file opened for reading: its header (vocabulary, the inputs it was made from) checked, its tokens
/// memory-mapped and addressed by 64-bit positions, so a corpus of any length costs only the pages that are read.
/// <see cref="Read"/> is safe from several threads; <see cref="Dispose"/> must not race with it. Make stores with
/// <see cref="TokenStoreCache.Prepare"/>.
/// </summary>
public sealed unsafe class TokenStore : ITokenSource, IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _tokens; // [N × BytesPerToken] little-endian
    private readonly long _headerLength;
    private readonly string _tokensSha256;
    private bool _disposed;

    private TokenStore(string path, TokenStoreHeader header, long headerLength, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* tokens)
    {
        _headerLength = headerLength;
        _tokensSha256 = header.TokensSha256;
        Path = path;
        Vocabulary = header.Vocabulary;
        Length = header.TokenCount;
        BytesPerToken = header.BytesPerToken;
        Lines = header.Lines;
        ReplacedCount = header.ReplacedCount;
        Inputs = header.Inputs;
        TextHash = TextFingerprint.Prefix + header.TextSha256;
        _file = file;
        _view = view;
        _tokens = tokens;
    }

    /// <summary>
    /// Opens the store at <paramref name="path"/>. A file that is not a token store of this format version, is
    /// truncated or longer than its header says, or whose header hash does not match throws
    /// <see cref="TokenStoreFormatException"/>; a missing or unreadable file throws the usual I/O exceptions.
    /// </summary>
    public static TokenStore Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            var (header, headerLength) = TokenStoreHeader.Read(stream, full);
            file = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            return new TokenStore(full, header, headerLength, file, view, start + view.PointerOffset + headerLength);
        }
        catch
        {
            view?.Dispose();
            if (file is not null) file.Dispose();
            else stream.Dispose();
            throw;
        }
    }

    /// <summary>The store's full path.</summary>
    public string Path { get; }

    /// <summary>The corpus's vocabulary (distinct scalars in ordinal order; id = index).</summary>
    public Vocabulary Vocabulary { get; }

    /// <inheritdoc/>
    public long Length { get; }

    /// <inheritdoc/>
    public int VocabularySize => Vocabulary.Count;

    /// <summary>Bytes a token takes in the file: 1 for V ≤ 256, 2 for V ≤ 65,536, else 4.</summary>
    public int BytesPerToken { get; }

    /// <summary>Whether the tokens are the lines framing of the inputs (each non-empty line framed by '\n').</summary>
    public bool Lines { get; }

    /// <summary>Invalid UTF-8 sequences replaced by U+FFFD while encoding (0: the inputs were valid UTF-8).</summary>
    public long ReplacedCount { get; }

    /// <summary>The input files, in order, as they were when the store was written.</summary>
    public IReadOnlyList<CorpusFileFingerprint> Inputs { get; }

    /// <summary>
    /// The <see cref="TextFingerprint"/> of the text the tokens spell (<c>sha256:</c> and the SHA-256 of its UTF-8,
    /// after BOM removal, replacement of invalid bytes and lines framing), computed when the store was written: what a
    /// checkpoint records as <c>text_hash</c>, known without decoding the corpus again. For one UTF-8 file without a
    /// BOM in stream mode it is what <c>sha256sum</c> prints for the file.
    /// </summary>
    public string TextHash { get; }

    /// <summary>
    /// SHA-256 (lowercase hex) identifying the token sequence by what it was made from: the framing and each input's
    /// content hash, in order (not paths or times, so a moved or touched corpus keeps its identity).
    /// </summary>
    public string ContentHash
    {
        get
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(Lines ? "lines\n"u8 : "text\n"u8);
            foreach (var input in Inputs) hash.AppendData(Encoding.ASCII.GetBytes(input.Sha256 + "\n"));
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    /// <summary>
    /// Reads the token bytes back from the file (not through the mapping, so they do not count in the process's memory)
    /// and throws <see cref="TokenStoreFormatException"/> unless their SHA-256 is the one the header recorded: damage
    /// that keeps every id inside the vocabulary, which <see cref="Read"/> cannot see. Costs one read of the file.
    /// </summary>
    public void VerifyTokens()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] actual;
        using (var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20, FileOptions.SequentialScan))
        {
            stream.Position = _headerLength;
            actual = SHA256.HashData(stream);
        }
        if (!Convert.ToHexStringLower(actual).Equals(_tokensSha256, StringComparison.Ordinal))
            throw new TokenStoreFormatException($"token store '{Path}' is corrupt: its tokens do not match the hash in its header");
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A stored id outside the vocabulary (a damaged token region) throws <see cref="TokenStoreFormatException"/>
    /// instead of reaching the model.
    /// </remarks>
    public void Read(long position, Span<int> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        new TokenRange(position, destination.Length).CheckInside(Length, nameof(position));
        byte* at = _tokens + position * BytesPerToken;
        int n = destination.Length;
        int bad = BytesPerToken switch
        {
            1 => Widen(new ReadOnlySpan<byte>(at, n), destination, VocabularySize),
            2 => Widen(new ReadOnlySpan<ushort>(at, n), destination, VocabularySize),
            _ => Widen(new ReadOnlySpan<uint>(at, n), destination, VocabularySize),
        };
        if (bad >= 0)
            throw new TokenStoreFormatException($"token store '{Path}' is corrupt: token {(uint)destination[bad]} at position {position + bad} is outside its vocabulary of {VocabularySize}; delete the file to have it rebuilt");
    }

    // Stored ids → int, checked against V; returns the index of the first bad id, or −1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Widen<T>(ReadOnlySpan<T> stored, Span<int> destination, int vocabularySize) where T : unmanaged, IBinaryInteger<T>
    {
        uint limit = (uint)vocabularySize;
        for (int i = 0; i < stored.Length; i++)
        {
            uint id = uint.CreateTruncating(stored[i]);
            if (!BitConverter.IsLittleEndian) id = Unsafe.SizeOf<T>() == 2 ? BinaryPrimitives.ReverseEndianness((ushort)id) : Unsafe.SizeOf<T>() == 4 ? BinaryPrimitives.ReverseEndianness(id) : id;
            destination[i] = (int)id;
            if (id >= limit) return i;
        }
        return -1;
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
