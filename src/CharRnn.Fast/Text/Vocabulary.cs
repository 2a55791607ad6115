using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CharRnn.Fast.Text;

/// <summary>
/// The token set of a corpus: its distinct Unicode scalar values (<see cref="Rune"/>, so emoji and CJK are never
/// split) sorted by ordinal value; a token id is the index in that order. Immutable and thread-safe.
/// </summary>
public sealed class Vocabulary
{
    private readonly Rune[] _symbols;
    private readonly string[] _strings;
    private readonly Dictionary<int, int> _ids;

    private Vocabulary(Rune[] sortedDistinct)
    {
        _symbols = sortedDistinct;
        _strings = Array.ConvertAll(sortedDistinct, r => r.ToString());
        _ids = new Dictionary<int, int>(sortedDistinct.Length);
        for (int i = 0; i < sortedDistinct.Length; i++) _ids[sortedDistinct[i].Value] = i;
    }

    /// <summary>Number of tokens (V).</summary>
    public int Count => _symbols.Length;

    /// <summary>The symbol of token <paramref name="id"/>.</summary>
    public Rune this[int id] => _symbols[CheckId(id)];

    /// <summary>The symbols in id order.</summary>
    public IReadOnlyList<Rune> Symbols => _symbols;

    /// <summary>The vocabulary of <paramref name="text"/>; throws <see cref="ArgumentException"/> for empty text.</summary>
    public static Vocabulary FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) throw new ArgumentException("the text is empty: a vocabulary needs at least one character", nameof(text));
        var set = new HashSet<Rune>();
        foreach (var r in text.EnumerateRunes()) set.Add(r);
        return FromSymbols(set);
    }

    /// <summary>A vocabulary of the given symbols (deduplicated, sorted by ordinal).</summary>
    public static Vocabulary FromSymbols(IEnumerable<Rune> symbols)
    {
        var sorted = symbols.Distinct().OrderBy(r => r.Value).ToArray();
        if (sorted.Length == 0) throw new ArgumentException("a vocabulary needs at least one symbol", nameof(symbols));
        return new Vocabulary(sorted);
    }

    /// <summary>The id of <paramref name="symbol"/>, if it is in the vocabulary.</summary>
    public bool TryGetId(Rune symbol, out int id) => _ids.TryGetValue(symbol.Value, out id);

    /// <summary>The string of token <paramref name="id"/> (cached: no allocation).</summary>
    public string GetString(int id) => _strings[CheckId(id)];

    private int CheckId(int id)
        => (uint)id < (uint)_symbols.Length ? id : throw new ArgumentOutOfRangeException(nameof(id), id, $"token ids are in [0,{_symbols.Length})");

    /// <summary>
    /// Token ids of <paramref name="text"/>. Characters outside the vocabulary throw an
    /// <see cref="UnknownCharactersException"/> that holds every one of them.
    /// </summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        List<string>? unknown = null;
        foreach (var r in text.EnumerateRunes())
        {
            if (_ids.TryGetValue(r.Value, out int id)) ids.Add(id);
            else
            {
                unknown ??= [];
                var s = r.ToString();
                if (!unknown.Contains(s)) unknown.Add(s);
            }
        }
        if (unknown is not null) throw new UnknownCharactersException(unknown);
        return ids.ToArray();
    }

    /// <summary>The text of a token sequence.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        foreach (int id in ids) sb.Append(_strings[id]);
        return sb.ToString();
    }

    /// <summary>The vocabulary as a JSON array of one-symbol strings, in id order (the checkpoint's "vocab" metadata).</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var s in _strings) writer.WriteStringValue(s);
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>
    /// Reads <see cref="ToJson"/>'s form; every entry must be exactly one Unicode scalar value and the entries must be
    /// distinct and in ordinal order (so ids mean the same thing in every program).
    /// </summary>
    public static Vocabulary FromJson(string json)
    {
        JsonDocument doc;
        try { doc = UnicodeJson.Parse(json); }
        catch (JsonException e) { throw new FormatException($"the vocabulary is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new FormatException("the vocabulary must be a JSON array of strings");
            var runes = new List<Rune>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) throw new FormatException("the vocabulary must be a JSON array of strings");
                var s = e.GetString()!;
                if (!Rune.TryGetRuneAt(s, 0, out var r) || r.Utf16SequenceLength != s.Length)
                    throw new FormatException($"vocabulary entry {runes.Count} (\"{Escape(s)}\") is not exactly one Unicode character");
                if (runes.Count > 0 && runes[^1].Value >= r.Value)
                    throw new FormatException($"vocabulary entry {runes.Count} (\"{Escape(s)}\") is out of order or repeated: entries must be distinct and sorted by code point");
                runes.Add(r);
            }
            if (runes.Count == 0) throw new FormatException("the vocabulary is empty");
            return new Vocabulary(runes.ToArray());
        }
    }

    /// <summary>
    /// A printable form of symbols for messages and listings: \n, \t, \r, and U+XXXX for every character that shows
    /// nothing or does not stand alone (see <see cref="IsInvisible"/>); everything else as itself.
    /// </summary>
    public static string Escape(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder();
        foreach (var r in s.EnumerateRunes())
        {
            if (r.Value == '\n') sb.Append("\\n");
            else if (r.Value == '\t') sb.Append("\\t");
            else if (r.Value == '\r') sb.Append("\\r");
            else if (IsInvisible(r)) sb.Append(CultureInfo.InvariantCulture, $"U+{r.Value:X4}");
            else sb.Append(r.ToString());
        }
        return sb.ToString();
    }

    /// <summary>
    /// Controls, format characters (zero-width joiner, direction marks, BOM), combining marks (they draw on whatever
    /// precedes them), separators other than the space (no-break space, line separator), private-use and unassigned
    /// code points: printed raw, a reader could not tell what they are or that they are there.
    /// </summary>
    private static bool IsInvisible(Rune r) => r.Value != ' ' && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        or UnicodeCategory.EnclosingMark or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
        or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
}

/// <summary>Text contained characters the vocabulary does not have; <see cref="Characters"/> lists them.</summary>
public sealed class UnknownCharactersException : Exception
{
    /// <summary>How many of the characters the message names: a text in another script can miss tens of thousands.</summary>
    public const int Named = 10;

    public UnknownCharactersException(string message, IReadOnlyList<string> characters) : base(message) => Characters = characters;

    /// <summary>
    /// The message says how many <paramref name="characters"/> (in order of first appearance) are not in the model's
    /// vocabulary and names the first <see cref="Named"/>.
    /// </summary>
    public UnknownCharactersException(IReadOnlyList<string> characters) : this(Describe(characters), characters) { }

    /// <summary>The distinct unknown characters, in order of first appearance.</summary>
    public IReadOnlyList<string> Characters { get; }

    private static string Describe(IReadOnlyList<string> characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        string named = string.Join(" ", characters.Take(Named).Select(s => "'" + Vocabulary.Escape(s) + "'"));
        string more = characters.Count > Named ? string.Create(CultureInfo.InvariantCulture, $" and {characters.Count - Named:N0} more") : "";
        return string.Create(CultureInfo.InvariantCulture, $"{characters.Count:N0} character(s) are not in the model's vocabulary: {named}{more}");
    }
}
