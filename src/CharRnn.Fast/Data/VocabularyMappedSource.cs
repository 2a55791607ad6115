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
    /// <see cref="UnknownCharactersException"/> naming every one (as <see cref="Vocabulary.Encode"/> does).
    /// </summary>
    public static ITokenSource Map(ITokenSource source, Vocabulary from, Vocabulary to)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (source.VocabularySize != from.Count) throw new ArgumentException($"the source has {source.VocabularySize} token ids but its vocabulary {from.Count} characters", nameof(from));
        if (from.Symbols.SequenceEqual(to.Symbols)) return source;
        var ids = new int[from.Count];
        var unknown = new List<string>();
        for (int i = 0; i < ids.Length; i++)
            if (!to.TryGetId(from[i], out ids[i])) unknown.Add(from.GetString(i));
        if (unknown.Count > 0)
            throw new UnknownCharactersException(
                $"{unknown.Count} character(s) are not in the model's vocabulary: {string.Join(" ", unknown.Select(s => "'" + Vocabulary.Escape(s) + "'"))}", unknown);
        return new VocabularyMappedSource(source, ids, to.Count);
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
