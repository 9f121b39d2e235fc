// Runs Tejas' own x86 translator (from its built classes, through reflection:
// the methods are private) on every distinct assembly text of tejas-gz files
// and sorts the instructions it leaves untranslated:
//  - "lacks": Tejas has no class for the mnemonic (or prefix), or the operands
//    name registers it does not model (control and debug registers): listed in
//    docs/simulator-formats.md, not our text's fault;
//  - "ours": the mnemonic is known but the text did not translate, the
//    tokenizer threw (it kills Tejas' reader thread), or a string
//    instruction lacks its operands: our text is wrong.
// Prints a summary line "total N untranslated_ours U crash C lacks L" and the
// most frequent texts of each kind; exits 1 if U or C is not 0.
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

public class TejasTranslate {
  public static void main(String[] args) throws Exception {
    Map<String, Long> texts = new HashMap<>();
    for (String f : args) {
      try (BufferedReader r = new BufferedReader(
               new InputStreamReader(new GZIPInputStream(new FileInputStream(f))))) {
        String line;
        while ((line = r.readLine()) != null) {
          int s1 = line.indexOf(' '), s2 = line.indexOf(' ', s1 + 1);
          if (s2 > 0 && line.substring(s1 + 1, s2).equals("27"))
            texts.merge(line.substring(s2 + 1), 1L, Long::sum);
        }
      }
    }
    // What Tejas' Main sets up before translating.
    config.SimulationConfig.NumTempIntReg = 16;
    main.CustomObjectPool.initCustomPools(1, 1 << 16);
    generic.Operand.preAllocateOperands();
    Class<?> parser = Class.forName("emulatorinterface.translator.x86.objparser.ObjParser");
    Method tokenize = parser.getDeclaredMethod("tokenizeQemuAssemblyCode", byte[].class);
    tokenize.setAccessible(true);
    Method riscify = parser.getDeclaredMethod("riscifyInstruction", long.class, String.class,
        String.class, String.class, String.class, String.class, generic.InstructionList.class);
    riscify.setAccessible(true);

    long total = 0, ours = 0, crash = 0, lacks = 0;
    Map<String, Long> oursTexts = new HashMap<>(), lacksOps = new HashMap<>();
    for (Map.Entry<String, Long> e : texts.entrySet()) {
      long n = e.getValue();
      total += n;
      byte[] buf = new byte[64];  // as Tejas' CustomAsmCharPool holds it
      byte[] t = e.getKey().getBytes();
      System.arraycopy(t, 0, buf, 0, Math.min(63, t.length));
      String[] k;
      try {
        k = (String[]) tokenize.invoke(null, (Object) buf);
      } catch (Exception ex) {
        crash += n;
        oursTexts.merge("(tokenizer throws) " + e.getKey(), n, Long::sum);
        continue;
      }
      // A string instruction without its operands (objdump writes `rep movs
      // BYTE PTR es:[rdi], BYTE PTR ds:[rsi]`): Tejas would not know it.
      if (k[1] != null && k[2] == null && k[1].matches("(movs|stos|lods|scas|cmps|ins|outs)[bwdq]")) {
        ours += n;
        oursTexts.merge("(string op without operands) " + e.getKey(), n, Long::sum);
        continue;
      }
      generic.InstructionList list = new generic.InstructionList(64);
      int made = (Integer) riscify.invoke(null, 0x1000L, k[0], k[1], k[2], k[3], k[4], list);
      if (made > 0) continue;
      String cls = emulatorinterface.translator.x86.instruction.InstructionClassTable
                       .getInstructionClass(k[1]).toString();
      boolean unknown = cls.equals("INVALID") || cls.equals("REPEAT") || cls.equals("LOCK");
      boolean systemReg = e.getKey().matches(".*\\b(cr|dr)[0-9]+\\b.*");
      if (unknown || systemReg) {
        lacks += n;
        lacksOps.merge(systemReg && !unknown ? k[1] + " (system register)" : k[1], n, Long::sum);
      } else {
        ours += n;
        oursTexts.merge(e.getKey(), n, Long::sum);
      }
    }
    System.out.printf("total %d untranslated_ours %d crash %d lacks %d%n", total, ours, crash, lacks);
    oursTexts.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(20)
        .forEach(x -> System.out.println("  ours  " + x.getValue() + "  " + x.getKey()));
    lacksOps.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(40)
        .forEach(x -> System.out.println("  lacks " + x.getValue() + "  " + x.getKey()));
    System.exit(ours == 0 && crash == 0 ? 0 : 1);
  }
}
