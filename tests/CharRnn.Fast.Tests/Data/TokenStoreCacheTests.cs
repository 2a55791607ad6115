using System.Security.Cryptography;
using CharRnn.Fast.Data;
using CharRnn.Fast.IO;
using Xunit;

namespace CharRnn.Fast.Tests.Data;

public sealed class TokenStoreCacheTests : IDisposable
{
    private readonly TempCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    private string Decode(PreparedCorpus p) => p.Store.Vocabulary.Decode(TempCorpus.ReadAll(p.Store));

    [Fact]
    public void A_corpus_named_through_a_symbolic_link_is_read_and_keyed_by_the_file_it_leads_to()
    {
        string first = _corpus.Write("first.txt", "hello world"), second = _corpus.Write("second.txt", "another text, longer");
        string link = Path.Combine(_corpus.Dir, "link.txt");
        File.CreateSymbolicLink(link, first);
        using (var viaLink = TokenStoreCache.Prepare([link], _corpus.Options()))
            Assert.Equal("hello world", Decode(viaLink));

        File.Delete(link);
        File.CreateSymbolicLink(link, second);
        using var repointed = TokenStoreCache.Prepare([link], _corpus.Options());
        Assert.False(repointed.Reused);
        Assert.Equal("another text, longer", Decode(repointed));
    }

    [Fact]
    public void A_store_is_reused_while_the_corpus_is_unchanged_and_rebuilt_when_it_changes()
    {
        string path = _corpus.Write("c.txt", "hello world");
        var t0 = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, t0);
        using (var first = TokenStoreCache.Prepare([path], _corpus.Options()))
        {
            Assert.False(first.Reused);
            Assert.Null(first.RebuildReason);
            Assert.Equal(path + ".charrnn-tokens", first.Store.Path);
        }
        using (var again = TokenStoreCache.Prepare([path], _corpus.Options()))
        {
            Assert.True(again.Reused);
            Assert.Equal("hello world", Decode(again));
        }

        File.AppendAllText(path, "!");
        File.SetLastWriteTimeUtc(path, t0);
        using (var grown = TokenStoreCache.Prepare([path], _corpus.Options()))
        {
            Assert.False(grown.Reused);
            Assert.Contains("changed size (11 → 12 bytes)", grown.RebuildReason);
            Assert.Equal("hello world!", Decode(grown));
        }

        File.SetLastWriteTimeUtc(path, t0.AddSeconds(1));
        using (var touched = TokenStoreCache.Prepare([path], _corpus.Options()))
        {
            Assert.False(touched.Reused);
            Assert.Contains("changed (last written", touched.RebuildReason);
        }

        File.WriteAllText(path, "jello world!"); // same size, new time
        File.SetLastWriteTimeUtc(path, t0.AddSeconds(2));
        using (var edited = TokenStoreCache.Prepare([path], _corpus.Options()))
        {
            Assert.False(edited.Reused);
            Assert.Equal("jello world!", Decode(edited));
        }

        File.WriteAllText(path, "yello world!"); // same size and, forged, the same time: only the content hash tells
        File.SetLastWriteTimeUtc(path, t0.AddSeconds(2));
        using (var forged = TokenStoreCache.Prepare([path], _corpus.Options()))
            Assert.True(forged.Reused); // documented: size and time are the key unless VerifyContent
        using (var verified = TokenStoreCache.Prepare([path], _corpus.Options() with { VerifyContent = true }))
        {
            Assert.False(verified.Reused);
            Assert.Contains("changed content", verified.RebuildReason);
            Assert.Equal("yello world!", Decode(verified));
        }
        using (var rebuilt = TokenStoreCache.Prepare([path], _corpus.Options() with { Rebuild = true }))
            Assert.False(rebuilt.Reused);
    }

    [Fact]
    public void The_fingerprint_records_each_input_and_the_content_hash_ignores_paths_and_times()
    {
        string a = _corpus.Write("a.txt", "same text", bom: true);
        string b = _corpus.Write("sub/b.txt", "same text", bom: true);
        File.SetLastWriteTimeUtc(b, new DateTime(2020, 5, 6, 0, 0, 0, DateTimeKind.Utc));
        using var pa = TokenStoreCache.Prepare([a], _corpus.Options());
        using var pb = TokenStoreCache.Prepare([b], _corpus.Options());
        using var lines = TokenStoreCache.Prepare([a], _corpus.Options(lines: true));
        var input = Assert.Single(pa.Store.Inputs);
        Assert.Equal(a, input.Path);
        Assert.Equal(12, input.Size);
        Assert.Equal(File.GetLastWriteTimeUtc(a), input.LastWriteTimeUtc);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(a))), input.Sha256); // BOM included
        Assert.Equal(pa.Store.ContentHash, pb.Store.ContentHash);
        Assert.NotEqual(pa.Store.ContentHash, lines.Store.ContentHash);
        Assert.Equal(a + ".lines.charrnn-tokens", lines.Store.Path); // its own file: switching modes rebuilds neither
        using var again = TokenStoreCache.Prepare([a], _corpus.Options());
        Assert.True(again.Reused);
    }

    [Fact]
    public void A_store_made_with_replacement_is_not_used_for_a_strict_read()
    {
        string path = _corpus.WriteBytes("bad.txt", [(byte)'o', (byte)'k', 0xFF]);
        using (var replaced = TokenStoreCache.Prepare([path], _corpus.Options(replaceInvalid: true)))
            Assert.Equal(1, replaced.Store.ReplacedCount);
        var strict = Assert.Throws<TextInputException>(() => TokenStoreCache.Prepare([path], _corpus.Options()));
        Assert.Contains("byte offset 2", strict.Message);
        using var valid = TokenStoreCache.Prepare([_corpus.Write("ok.txt", "fine")], _corpus.Options());
        using var reusedForReplace = TokenStoreCache.Prepare([valid.Store.Inputs[0].Path], _corpus.Options(replaceInvalid: true));
        Assert.True(reusedForReplace.Reused); // valid text: the same tokens either way
    }

    public static TheoryData<string, string> Damage => new()
    {
        { "magic", "wrong magic bytes" },
        { "version", "format version 7" },
        { "vocabulary", "hash does not match" },
        { "fingerprint", "hash does not match" },
        { "truncated", "truncated" },
        { "extra", "extra bytes" },
        { "empty", "truncated" },
        { "count", "truncated or has extra bytes" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_corrupt_store_is_detected_and_rebuilt(string damage, string message)
    {
        string path = _corpus.Write("c.txt", "abracadabra");
        string store;
        using (var built = TokenStoreCache.Prepare([path], _corpus.Options())) store = built.Store.Path;
        var bytes = File.ReadAllBytes(store);
        switch (damage)
        {
            case "magic": bytes[0] ^= 1; break;
            case "version": bytes[8] = 7; break;
            case "vocabulary": bytes[48] ^= 1; break; // the first scalar
            case "fingerprint": bytes[48 + 5 * 4 + 4 + 4 + 3] ^= 0x10; break; // a byte of the stored input path
            case "truncated": bytes = bytes[..^1]; break;
            case "extra": bytes = [.. bytes, 0]; break;
            case "empty": bytes = []; break;
            case "count": bytes[24] += 1; break;
        }
        File.WriteAllBytes(store, bytes);

        var e = Assert.Throws<TokenStoreFormatException>(() => TokenStore.Open(store));
        Assert.Contains(message, e.Message);
        using var rebuilt = TokenStoreCache.Prepare([path], _corpus.Options());
        Assert.False(rebuilt.Reused);
        Assert.Contains(message, rebuilt.RebuildReason);
        Assert.Equal("abracadabra", Decode(rebuilt));
    }

    [Fact]
    public void A_damaged_token_is_reported_when_read_never_passed_on()
    {
        string path = _corpus.Write("c.txt", "abc");
        string store;
        using (var built = TokenStoreCache.Prepare([path], _corpus.Options())) store = built.Store.Path;
        var bytes = File.ReadAllBytes(store);
        bytes[^2] = 200; // token 1 of a 3-symbol vocabulary
        File.WriteAllBytes(store, bytes);
        using var opened = TokenStore.Open(store);
        var e = Assert.Throws<TokenStoreFormatException>(() => TempCorpus.ReadAll(opened));
        Assert.Contains("token 200 at position 1 is outside its vocabulary of 3", e.Message);
        var first = new int[1];
        opened.Read(0, first);
        Assert.Equal(0, first[0]);
    }

    [Fact]
    public void A_damaged_token_that_stays_in_the_vocabulary_is_caught_by_the_token_hash_and_rebuilt()
    {
        string path = _corpus.Write("c.txt", "abcabc");
        string store;
        using (var built = TokenStoreCache.Prepare([path], _corpus.Options())) store = built.Store.Path;
        var bytes = File.ReadAllBytes(store);
        bytes[^1] = 0; // 'c' → 'a': every id still valid, the text another
        File.WriteAllBytes(store, bytes);
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path)); // the corpus itself is unchanged

        using (var opened = TokenStore.Open(store))
            Assert.Contains("its tokens do not match the hash in its header", Assert.Throws<TokenStoreFormatException>(() => opened.VerifyTokens()).Message);
        using var rebuilt = TokenStoreCache.Prepare([path], _corpus.Options());
        Assert.False(rebuilt.Reused);
        Assert.Contains("its tokens do not match", rebuilt.RebuildReason);
        Assert.Equal("abcabc", Decode(rebuilt));
        rebuilt.Store.VerifyTokens();
    }

    [Fact]
    public void The_store_goes_to_the_cache_directory_when_the_corpus_folder_cannot_be_written()
    {
        string path = _corpus.Write("c.txt", "cached");
        string blocked = Path.Combine(path, "under-a-file", "c.txt.charrnn-tokens"); // a file is not a directory, even for root
        string cached = Path.Combine(_corpus.Cache, "c.txt-1.charrnn-tokens");
        var stamps = new[] { CorpusFiles.Stamp(path) };
        using (var first = TokenStoreCache.PrepareAt(stamps, _corpus.Options(), [blocked, cached]))
        {
            Assert.Equal(cached, first.Store.Path);
            Assert.Equal("cached", Decode(first));
        }
        using var again = TokenStoreCache.PrepareAt(stamps, _corpus.Options(), [blocked, cached]);
        Assert.True(again.Reused);
        var nowhere = Assert.Throws<IOException>(() => TokenStoreCache.PrepareAt(stamps, _corpus.Options() with { Rebuild = true }, [blocked]));
        Assert.Contains("cannot write the token store", nowhere.Message);
        Assert.Contains(blocked, nowhere.Message);
    }

    [Fact]
    public void The_default_places_are_beside_the_corpus_then_the_cache()
    {
        var one = TokenStoreCache.Locations(["/data/corpus.txt"], new CorpusOptions { CacheDirectory = "/cache" });
        Assert.Equal("/data/corpus.txt.charrnn-tokens", one[0]);
        Assert.StartsWith("/cache/corpus.txt-", one[1]);
        var dir = TokenStoreCache.Locations(["/data/books/"], new CorpusOptions { CacheDirectory = "/cache", Lines = true });
        Assert.Equal("/data/books.lines.charrnn-tokens", dir[0]);
        var several = TokenStoreCache.Locations(["/data/a.txt", "/data/b.txt"], new CorpusOptions { CacheDirectory = "/cache" });
        Assert.Matches(@"^/data/a\.txt\.[0-9a-f]{8}\.charrnn-tokens$", several[0]);
        Assert.NotEqual(several[0], TokenStoreCache.Locations(["/data/a.txt", "/data/c.txt"], new CorpusOptions { CacheDirectory = "/cache" })[0]);
    }

    [Fact]
    public void A_write_that_fails_part_way_leaves_no_store_and_says_why()
    {
        string path = _corpus.Write("c.txt", string.Concat(Enumerable.Repeat("full disk ", 1000)));
        string target = path + ".charrnn-tokens";
        var stamps = new[] { CorpusFiles.Stamp(path) };
        var e = Assert.Throws<IOException>(() => TokenStoreCache.PrepareAt(stamps, _corpus.Options(chunkBytes: 256), [target], s => new DiskFullAfter(s, 2000)));
        Assert.Contains($"cannot write the token store '{target}'", e.Message);
        Assert.Contains("no space left on device", e.Message);
        Assert.Equal(["c.txt"], Directory.GetFiles(_corpus.Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_file_that_changes_while_read_is_an_error_not_a_store()
    {
        string path = _corpus.Write("c.txt", "before");
        var stamps = new[] { CorpusFiles.Stamp(path) };
        File.AppendAllText(path, " and after");
        var e = Assert.Throws<TextInputException>(() => TokenStoreCache.PrepareAt(stamps, _corpus.Options(), [path + ".charrnn-tokens"]));
        Assert.Contains("changed while it was being read", e.Message);
        Assert.Equal(["c.txt"], Directory.GetFiles(_corpus.Dir).Select(Path.GetFileName));
    }

    /// <summary>A stream that fails like a full disk once <paramref name="capacity"/> bytes have been written through it.</summary>
    private sealed class DiskFullAfter(Stream inner, long capacity) : Stream
    {
        private long _written;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _written += buffer.Length;
            if (_written > capacity) throw new IOException("No space left on device");
            inner.Write(buffer);
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
