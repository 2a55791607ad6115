using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
        Count += text.Length;
        while (!text.IsEmpty)
        {
            // runs between surrogate pairs (rare) are marked in a tight loop; the search for the next pair is vectorized
            int pair = text.IndexOfAnyInRange('\uD800', '\uDFFF');
            Mark(pair < 0 ? text : text[..pair], _bmp);
            if (pair < 0) break;
            _supplementary.Add(char.ConvertToUtf32(text[pair], text[pair + 1])); // the decoder emits whole pairs only
            Count--;
            text = text[(pair + 2)..];
        }
    }

    // seen[c] = true for every c of a run without surrogates; c < 65,536 = seen.Length, so no bounds checks are needed
    private static void Mark(ReadOnlySpan<char> run, bool[] seen)
    {
        ref bool seen0 = ref MemoryMarshal.GetArrayDataReference(seen);
        ref char c0 = ref MemoryMarshal.GetReference(run);
        int i = 0;
        for (; i <= run.Length - 4; i += 4)
        {
            Unsafe.Add(ref seen0, Unsafe.Add(ref c0, i)) = true;
            Unsafe.Add(ref seen0, Unsafe.Add(ref c0, i + 1)) = true;
            Unsafe.Add(ref seen0, Unsafe.Add(ref c0, i + 2)) = true;
            Unsafe.Add(ref seen0, Unsafe.Add(ref c0, i + 3)) = true;
        }
        for (; i < run.Length; i++) Unsafe.Add(ref seen0, Unsafe.Add(ref c0, i)) = true;
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
