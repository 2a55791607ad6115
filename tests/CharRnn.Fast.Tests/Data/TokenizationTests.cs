using System.Text;
using CharRnn.Fast.Data;
using CharRnn.Fast.IO;
using CharRnn.Fast.Text;
using FsCheck.Fluent;
using Xunit;

namespace CharRnn.Fast.Tests.Data;

public sealed class TokenizationTests : IDisposable
{
    private readonly TempCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    private PreparedCorpus Prepare(string path, CorpusOptions options) => TokenStoreCache.Prepare([path], options);

    /// <summary>The CLI's lines framing (Inputs.FrameLines) on a whole string: the reference the stream must equal.</summary>
    private static string FrameLines(string text) =>
        "\n" + string.Join('\n', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)) + "\n";

    [Theory]
    [InlineData(3, 1)]
    [InlineData(300, 2)]
    [InlineData(70_000, 4)]
    public void A_store_round_trips_at_each_token_width(int vocabularySize, int bytesPerToken)
    {
        var scalars = Enumerable.Range(0x20, 0x20000).Where(Rune.IsValid).Take(vocabularySize).ToArray();
        var rng = new Random(vocabularySize);
        var sb = new StringBuilder();
        foreach (int s in scalars.OrderBy(_ => rng.Next())) sb.Append(new Rune(s).ToString());
        for (int i = 0; i < 5000; i++) sb.Append(new Rune(scalars[rng.Next(scalars.Length)]).ToString());
        string text = sb.ToString();
        string path = _corpus.Write("wide.txt", text);

        using var prepared = Prepare(path, _corpus.Options());
        var store = prepared.Store;
        var vocabulary = Vocabulary.FromText(text);
        Assert.Equal(vocabularySize, store.VocabularySize);
        Assert.Equal(bytesPerToken, store.BytesPerToken);
        Assert.Equal(vocabulary.Symbols, store.Vocabulary.Symbols);
        Assert.Equal(vocabulary.Encode(text), TempCorpus.ReadAll(store));
        Assert.Equal(0, new FileInfo(store.Path).Length - store.Length * bytesPerToken - HeaderLength(store.Path));
    }

    private static long HeaderLength(string storePath)
    {
        using var stream = File.OpenRead(storePath);
        var prefix = new byte[24];
        stream.ReadExactly(prefix);
        return BitConverter.ToInt64(prefix, 16);
    }

    [Fact]
    public void Emoji_cjk_and_combining_text_encodes_as_vocabulary_encode_does_at_every_chunk_size()
    {
        const string text = "naïve cafe\u0301 世界 👩‍👩‍👧 🇫🇷 😀\r\nΩmega\tß\uFEFF end\n";
        var expected = Vocabulary.FromText(text).Encode(text);
        for (int chunk = 1; chunk <= 9; chunk++)
        {
            using var prepared = Prepare(_corpus.Write(_corpus.NextName(), text, bom: true), _corpus.Options(chunkBytes: chunk));
            Assert.Equal(Vocabulary.FromText(text).Symbols, prepared.Store.Vocabulary.Symbols);
            Assert.Equal(expected, TempCorpus.ReadAll(prepared.Store));
        }
    }

    [Fact]
    public void Any_text_at_any_chunk_size_with_or_without_bom_encodes_as_the_whole_string_does() => TempCorpus.Property(
        from seed in Gen.Choose(0, int.MaxValue) from chunk in Gen.Choose(1, 16) from bom in Gen.Elements(false, true) select (seed, chunk, bom), c =>
        {
            string text = TempCorpus.RandomText(c.seed) + "x";
            string path = _corpus.Write(_corpus.NextName(), text, c.bom);
            text = TextFile.ReadUtf8(path); // a U+FEFF the text starts with is a BOM too
            using var prepared = Prepare(path, _corpus.Options(chunkBytes: c.chunk));
            Assert.Equal(Vocabulary.FromText(text).Symbols, prepared.Store.Vocabulary.Symbols);
            Assert.Equal(Vocabulary.FromText(text).Encode(text), TempCorpus.ReadAll(prepared.Store));
        });

    /// <summary>
    /// The store records the fingerprint of the text its tokens spell (what checkpoints call text_hash), whatever the
    /// files, chunking, BOMs, framing or replaced bytes that produced it.
    /// </summary>
    [Fact]
    public void The_text_hash_is_the_fingerprint_of_the_text_the_tokens_spell() => TempCorpus.Property(
        from seed in Gen.Choose(0, int.MaxValue) from files in Gen.Choose(1, 3) from chunk in Gen.Choose(1, 16)
        from bom in Gen.Elements(false, true) from lines in Gen.Elements(false, true) from invalid in Gen.Elements(false, true)
        select (seed, files, chunk, bom, lines, invalid), c =>
        {
            var paths = Enumerable.Range(0, c.files).Select(i =>
            {
                var bytes = Encoding.UTF8.GetBytes(TempCorpus.RandomText(c.seed + i) + "x");
                if (c.invalid) bytes = [.. bytes, 0xC3, (byte)'y', 0xFF];
                if (c.bom) bytes = [0xEF, 0xBB, 0xBF, .. bytes];
                return _corpus.WriteBytes(_corpus.NextName(), bytes);
            }).ToArray();
            using var prepared = TokenStoreCache.Prepare(paths, _corpus.Options(lines: c.lines, replaceInvalid: true, chunkBytes: c.chunk));
            string text = prepared.Store.Vocabulary.Decode(TempCorpus.ReadAll(prepared.Store));
            Assert.Equal(TextFingerprint.Of(text), prepared.Store.TextHash);
            if (c.files == 1 && !c.lines && !c.invalid && !File.ReadAllBytes(paths[0]).AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF])) // one valid file without a BOM: what sha256sum prints
                Assert.Equal(TextFingerprint.Prefix + prepared.Store.Inputs[0].Sha256, prepared.Store.TextHash);
        });

    [Fact]
    public void Invalid_utf8_names_the_byte_offset_in_the_file()
    {
        byte[] bytes = [(byte)'a', (byte)'b', 0xC3, (byte)'c', (byte)'d'];
        foreach (int chunk in new[] { 1, 2, 3, 64 })
        {
            var e = Assert.Throws<TextInputException>(() => Prepare(_corpus.WriteBytes(_corpus.NextName(), bytes), _corpus.Options(chunkBytes: chunk)));
            Assert.Contains("byte 0xC3 at byte offset 2", e.Message);
            var withBom = Assert.Throws<TextInputException>(() => Prepare(_corpus.WriteBytes(_corpus.NextName(), [0xEF, 0xBB, 0xBF, .. bytes]), _corpus.Options(chunkBytes: chunk)));
            Assert.Contains("byte offset 5", withBom.Message); // offsets count from the file's first byte
            var cut = Assert.Throws<TextInputException>(() => Prepare(_corpus.WriteBytes(_corpus.NextName(), [(byte)'a', 0xE4, 0xB8]), _corpus.Options(chunkBytes: chunk)));
            Assert.Contains("byte 0xE4 at byte offset 1", cut.Message); // a sequence cut off by the end of the file
        }
    }

    [Fact]
    public void Invalid_bytes_stop_as_textfile_does_or_become_replacement_characters_as_it_does() => TempCorpus.Property(
        from seed in Gen.Choose(0, int.MaxValue) from chunk in Gen.Choose(1, 16) select (seed, chunk), c =>
        {
            var rng = new Random(c.seed);
            var bytes = new List<byte>(Encoding.UTF8.GetBytes(TempCorpus.RandomText(c.seed, 12)));
            for (int k = rng.Next(3); k >= 0; k--) // junk: stray continuation bytes, cut sequences, overlongs, surrogates
            {
                byte[][] junk = [[0x80], [0xBF], [0xC3], [0xE4, 0xB8], [0xF0, 0x9F, 0x98], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5], [0xFF]];
                bytes.InsertRange(rng.Next(bytes.Count + 1), junk[rng.Next(junk.Length)]);
            }
            bytes.Add((byte)'.');
            string path = _corpus.WriteBytes(_corpus.NextName(), [.. bytes]);

            string? reference = null;
            try { TextFile.DecodeUtf8(bytes.ToArray(), path); }
            catch (TextInputException e) { reference = e.Message; }
            string? strict = null;
            try { Prepare(path, _corpus.Options(chunkBytes: c.chunk)).Dispose(); }
            catch (TextInputException e) { strict = e.Message; }
            Assert.Equal(reference, strict); // junk can happen to complete a sequence: then both accept the bytes

            string replaced = TextFile.DecodeUtf8(bytes.ToArray(), path, replaceInvalid: true);
            using var prepared = TokenStoreCache.Prepare([path], _corpus.Options(replaceInvalid: true, chunkBytes: c.chunk) with { Rebuild = true });
            Assert.Equal(Vocabulary.FromText(replaced).Encode(replaced), TempCorpus.ReadAll(prepared.Store));
            Assert.Equal(replaced.Count(ch => ch == '\uFFFD'), prepared.Store.ReplacedCount);
        });

    [Fact]
    public void Lines_framing_streams_to_the_framing_of_the_whole_string() => TempCorpus.Property(
        from seed in Gen.Choose(0, int.MaxValue) from chunk in Gen.Choose(1, 16) select (seed, chunk), c =>
        {
            string path = _corpus.Write(_corpus.NextName(), TempCorpus.RandomText(c.seed) + "x");
            string text = TextFile.ReadUtf8(path);
            using var prepared = Prepare(path, _corpus.Options(lines: true, chunkBytes: c.chunk));
            string framed = FrameLines(text);
            Assert.True(prepared.Store.Lines);
            Assert.Equal(Vocabulary.FromText(framed).Symbols, prepared.Store.Vocabulary.Symbols);
            Assert.Equal(Vocabulary.FromText(framed).Encode(framed), TempCorpus.ReadAll(prepared.Store));
        });

    [Fact]
    public void Empty_inputs_are_clear_errors()
    {
        var empty = Assert.Throws<TextInputException>(() => Prepare(_corpus.Write("empty.txt", ""), _corpus.Options()));
        Assert.Contains("is empty", empty.Message);
        var bomOnly = Assert.Throws<TextInputException>(() => Prepare(_corpus.Write("bom.txt", "", bom: true), _corpus.Options()));
        Assert.Contains("is empty", bomOnly.Message);
        var blank = Assert.Throws<TextInputException>(() => Prepare(_corpus.Write("blank.txt", "\r\n\n\r\n"), _corpus.Options(lines: true)));
        Assert.Contains("no non-empty lines", blank.Message);
        var missing = Assert.Throws<TextInputException>(() => Prepare(Path.Combine(_corpus.Dir, "nope.txt"), _corpus.Options()));
        Assert.Contains("does not exist", missing.Message);
        Assert.Empty(Directory.GetFiles(_corpus.Dir, "*.charrnn-tokens*"));
    }

    [Fact]
    public void Several_files_are_concatenated_in_order_and_in_lines_mode_each_file_ends_a_line()
    {
        string[] texts = ["first line\nno newline at end", "😀second\r\n\n", "", "third"];
        var paths = texts.Select((t, i) => _corpus.Write($"part{i}.txt", t, bom: i == 1)).ToArray();

        using (var plain = TokenStoreCache.Prepare(paths, _corpus.Options(chunkBytes: 3)))
        {
            string joined = string.Concat(texts);
            Assert.Equal(Vocabulary.FromText(joined).Encode(joined), TempCorpus.ReadAll(plain.Store));
            Assert.Equal(paths, plain.Store.Inputs.Select(i => i.Path));
        }
        using (var lines = TokenStoreCache.Prepare(paths, _corpus.Options(lines: true, chunkBytes: 3)))
        {
            string framed = FrameLines(string.Join('\n', texts));
            Assert.Equal("\nfirst line\nno newline at end\n😀second\nthird\n", framed);
            Assert.Equal(Vocabulary.FromText(framed).Encode(framed), TempCorpus.ReadAll(lines.Store));
        }
    }

    [Fact]
    public void A_directory_is_read_in_ordinal_order_of_relative_paths_skipping_hidden_links_and_stores()
    {
        var corpus = Path.Combine(_corpus.Dir, "corpus");
        string Put(string relative, string text) => _corpus.Write(Path.Combine("corpus", relative), text);
        Put("b.txt", "B");
        Put("a/z.txt", "Z");
        Put("a.txt", "a");
        Put("A.txt", "A");
        Put("a-b.txt", "-");
        Put(".hidden", "H");
        Put(".git/objects/x", "G");
        Put("notes.txt.charrnn-tokens", "S");
        File.CreateSymbolicLink(Path.Combine(corpus, "link.txt"), Path.Combine(corpus, "b.txt"));
        Directory.CreateSymbolicLink(Path.Combine(corpus, "loop"), corpus);

        var expected = new[] { "A.txt", "a-b.txt", "a.txt", "a/z.txt", "b.txt" }.Select(r => Path.Combine(corpus, r)).ToArray();
        Assert.Equal(expected, CorpusFiles.Expand([corpus + "/"]));
        using var prepared = TokenStoreCache.Prepare([corpus], _corpus.Options());
        Assert.Equal(corpus + CorpusFiles.StoreExtension, prepared.Store.Path); // beside the directory, not in it
        Assert.Equal("A-aZB", prepared.Store.Vocabulary.Decode(TempCorpus.ReadAll(prepared.Store)));

        var none = Assert.Throws<TextInputException>(() => CorpusFiles.Expand([Directory.CreateDirectory(Path.Combine(_corpus.Dir, "void")).FullName]));
        Assert.Contains("has no text files", none.Message);
    }
}
