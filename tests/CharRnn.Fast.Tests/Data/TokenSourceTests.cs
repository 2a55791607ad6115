using CharRnn.Fast.Data;
using CharRnn.Fast.Text;
using Xunit;

namespace CharRnn.Fast.Tests.Data;

public sealed class TokenSourceTests : IDisposable
{
    private readonly TempCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    [Fact]
    public void An_array_source_reads_windows_and_refuses_ids_outside_the_vocabulary_and_reads_outside_itself()
    {
        var source = new ArrayTokenSource([0, 1, 2, 1, 0], vocabularySize: 3);
        Assert.Equal(5, source.Length);
        var window = new int[3];
        source.Read(2, window);
        Assert.Equal([2, 1, 0], window);
        source.Read(5, Span<int>.Empty);
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Read(3, window));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.Read(-1, window));
        Assert.Throws<ArgumentException>(() => new ArrayTokenSource([0, 3], vocabularySize: 3));
    }

    [Fact]
    public void A_range_is_a_view_and_a_range_of_a_range_addresses_the_source()
    {
        var source = new ArrayTokenSource(Enumerable.Range(0, 100).ToArray(), vocabularySize: 100);
        var outer = new TokenSourceRange(source, new TokenRange(10, 50));
        var inner = new TokenSourceRange(outer, new TokenRange(5, 20));
        Assert.Same(source, inner.Source);
        Assert.Equal(new TokenRange(15, 20), inner.Range);
        Assert.Equal(100, inner.VocabularySize);
        var window = new int[4];
        inner.Read(16, window);
        Assert.Equal([31, 32, 33, 34], window);
        Assert.Throws<ArgumentOutOfRangeException>(() => inner.Read(17, window)); // the range's end, not the source's
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSourceRange(outer, new TokenRange(40, 11)));
    }

    /// <summary>
    /// A store of 2^31 + 100 one-byte tokens whose token region is a sparse file (a few pages on disk): tokens written
    /// past 2^31 read back through the store, a range of it and a split, without 2 GB of memory or disk.
    /// </summary>
    [Fact]
    public void Positions_beyond_two_to_the_31_read_back_from_a_sparse_store()
    {
        const long count = (1L << 31) + 100, far = (1L << 31) + 90;
        string path = Path.Combine(_corpus.Dir, "sparse.charrnn-tokens");
        try
        {
            var header = new TokenStoreHeader(Vocabulary.FromText("abc"), count, 0, lines: false, []).ToBytes();
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(header);
                file.SetLength(header.Length + count); // unwritten bytes are holes that read as token 0
                file.Position = header.Length + far;
                file.Write([1, 2, 0, 2]);
                file.Position = header.Length + count - 1;
                file.WriteByte(1);
            }

            using var store = TokenStore.Open(path);
            Assert.Equal(count, store.Length);
            var window = new int[4];
            store.Read(far, window);
            Assert.Equal([1, 2, 0, 2], window);
            var last = new int[2];
            store.Read(count - 2, last);
            Assert.Equal([0, 1], last);

            var tail = new TokenSourceRange(store, new TokenRange(1L << 31, 100));
            tail.Read(90, window);
            Assert.Equal([1, 2, 0, 2], window);
            Assert.Throws<ArgumentOutOfRangeException>(() => store.Read(count - 3, window));

            var split = CorpusSplit.Compute(count, 0.001, 1e-8);
            Assert.Equal(count - 1, split.Test.End - 1);
            Assert.True(split.Test.Start > int.MaxValue);
            var test = new TokenSourceRange(store, split.Test);
            test.Read(far - split.Test.Start, window);
            Assert.Equal([1, 2, 0, 2], window);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_disposed_store_refuses_reads()
    {
        using var prepared = TokenStoreCache.Prepare([_corpus.Write("c.txt", "abc")], _corpus.Options());
        prepared.Store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => prepared.Store.Read(0, new int[1]));
    }
}
