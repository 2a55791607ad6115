using CharRnn.Fast.Text;

namespace CharRnn.Fast.Data;

/// <summary>
/// A token source read in another vocabulary: each id of the source (a corpus tokenized in its own vocabulary) becomes
/// the id of the same character in a vocabulary that contains them all (a model's, when resuming or starting from a
/// model's weights). Reads map in place; nothing is copied.
/// </summary>
public sealed class VocabularyMappedSource : ITokenSource
{
    private readonly ITokenSource _source;
    private readonly int[] _ids; // [source V] source id → target id

    private VocabularyMappedSource(ITokenSource source, int[] ids, int vocabularySize) => (_source, _ids, VocabularySize) = (source, ids, vocabularySize);

    /// <summary>
    /// <paramref name="source"/> (ids in <paramref name="from"/>) read in <paramref name="to"/>: the source itself when
    /// the vocabularies are the same. Characters of <paramref name="from"/> missing from <paramref name="to"/> throw
    /// <see cref="UnknownCharactersException"/> holding every one in order of first appearance (as
    /// <see cref="Vocabulary.Encode"/> does; finding that order reads the source until each has appeared).
    /// </summary>
    public static ITokenSource Map(ITokenSource source, Vocabulary from, Vocabulary to)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (source.VocabularySize != from.Count) throw new ArgumentException($"the source has {source.VocabularySize} token ids but its vocabulary {from.Count} characters", nameof(from));
        if (from.Symbols.SequenceEqual(to.Symbols)) return source;
        var ids = new int[from.Count];
        var missing = new bool[from.Count];
        int unknown = 0;
        for (int i = 0; i < ids.Length; i++)
            if (!to.TryGetId(from[i], out ids[i])) { missing[i] = true; unknown++; }
        if (unknown > 0) throw new UnknownCharactersException(InOrderOfAppearance(source, missing, unknown).Select(from.GetString).ToList());
        return new VocabularyMappedSource(source, ids, to.Count);
    }

    /// <summary>The ids marked in <paramref name="missing"/> (<paramref name="count"/> of them) in the order they first occur in <paramref name="source"/>.</summary>
    private static List<int> InOrderOfAppearance(ITokenSource source, bool[] missing, int count)
    {
        var order = new List<int>(count);
        var block = new int[1 << 16];
        for (long at = 0; at < source.Length && order.Count < count; at += block.Length)
        {
            var tokens = block.AsSpan(0, (int)Math.Min(block.Length, source.Length - at));
            source.Read(at, tokens);
            foreach (int id in tokens)
                if (missing[id]) { missing[id] = false; order.Add(id); }
        }
        for (int id = 0; id < missing.Length; id++) // a vocabulary may hold characters its text lacks
            if (missing[id]) order.Add(id);
        return order;
    }

    /// <inheritdoc/>
    public long Length => _source.Length;

    /// <inheritdoc/>
    public int VocabularySize { get; }

    /// <inheritdoc/>
    public void Read(long position, Span<int> destination)
    {
        _source.Read(position, destination);
        var ids = _ids;
        for (int i = 0; i < destination.Length; i++) destination[i] = ids[destination[i]];
    }
}
