using System.Text;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Data;

/// <summary>The first pass over a corpus: which Unicode scalars occur, and how many scalars (tokens) there are.</summary>
internal sealed class SymbolCollector : TextChunkSink
{
    private readonly bool[] _bmp = new bool[char.MaxValue + 1]; // indexed by UTF-16 code unit; surrogates never set
    private readonly HashSet<int> _supplementary = [];

    /// <summary>Scalars seen so far.</summary>
    public long Count { get; private set; }

    public override void Write(ReadOnlySpan<char> text)
    {
        var seen = _bmp;
        int pairs = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) { seen[c] = true; continue; }
            _supplementary.Add(char.ConvertToUtf32(c, text[++i])); // the decoder emits whole pairs only
            pairs++;
        }
        Count += text.Length - pairs;
    }

    /// <summary>The vocabulary of everything seen (the contract's: distinct scalars in ordinal order).</summary>
    public Vocabulary ToVocabulary()
    {
        var symbols = new List<Rune>();
        for (int c = 0; c < _bmp.Length; c++)
            if (_bmp[c]) symbols.Add(new Rune(c));
        foreach (int s in _supplementary) symbols.Add(new Rune(s));
        return Vocabulary.FromSymbols(symbols);
    }
}
