// qrt-inspect MODEL.qrt [--json]: what a .qrt holds — profile, producer,
// operators, tensors with their quantization, sizes and the arena plan.
// The model is verified by the runtime first, so a bad file gets the same
// message here as on the device.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qrt/qrt.h"
#include "qrt/schema/qrt_generated.h"

namespace {

const char* kUsage = "usage: qrt-inspect MODEL.qrt [--json]\n";

std::string json_string(const char* s) {
  std::string out = "\"";
  for (const char* p = s; *p; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  if (std::isnan(v)) return "\"nan\"";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

const char* str(const flatbuffers::String* s) { return s ? s->c_str() : ""; }

std::string shape_text(const qrt::fb::Tensor* t, bool json) {
  std::string s = json ? "[" : "(";
  if (t->shape())
    for (flatbuffers::uoffset_t i = 0; i < t->shape()->size(); ++i)
      s += (i ? ", " : "") + std::to_string(t->shape()->Get(i));
  return s + (json ? "]" : ")");
}

size_t tensor_bytes(const qrt::fb::Tensor* t) {
  size_t n = qrt::fb::DType::F32 == t->dtype() || qrt::fb::DType::I32 == t->dtype() ? 4
             : t->dtype() == qrt::fb::DType::I64                                    ? 8
                                                                                    : 1;
  if (t->shape())
    for (int32_t d : *t->shape()) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "qrt-inspect: unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "qrt-inspect: more than one model given\n%s", kUsage);
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "qrt-inspect: no model given\n%s", kUsage);
    return 2;
  }
  qrt_model* model = nullptr;
  if (qrt_model_from_file(path.c_str(), &model) != QRT_OK) {
    std::fprintf(stderr, "qrt-inspect: %s\n", qrt_last_error());
    return 1;
  }
  qrt_interpreter* it = nullptr;
  qrt_memory_info mem{};
  std::string prepare_error;
  if (qrt_interpreter_create(model, nullptr, &it) == QRT_OK)
    qrt_memory(it, &mem);
  else
    prepare_error = qrt_last_error();

  // The runtime verified the file; read its tables directly.
  FILE* f = std::fopen(path.c_str(), "rb");
  std::vector<uint8_t> bytes;
  if (f) {
    std::fseek(f, 0, SEEK_END);
    bytes.resize(static_cast<size_t>(std::ftell(f)));
    std::fseek(f, 0, SEEK_SET);
    if (std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) bytes.clear();
    std::fclose(f);
  }
  if (bytes.empty()) {
    std::fprintf(stderr, "qrt-inspect: %s: cannot read the file\n", path.c_str());
    return 1;
  }
  const qrt::fb::Model* m = qrt::fb::GetModel(bytes.data());
  const auto* graphs = m->subgraphs();
  size_t constant_bytes = 0;
  for (const qrt::fb::SubGraph* sg : *graphs)
    for (flatbuffers::uoffset_t i = 0; sg->tensors() && i < sg->tensors()->size(); ++i)
      if (sg->tensors()->Get(i)->buffer() != 0) constant_bytes += tensor_bytes(sg->tensors()->Get(i));
  const char* profile = qrt::fb::EnumNameProfile(m->profile());

  // One graph's inputs, outputs, operators and tensors: the main graph at
  // the top level, IF bodies under "subgraphs".
  auto json_graph = [&](const qrt::fb::SubGraph* g) {
    const auto* tensors = g->tensors();
    std::printf(" \"inputs\": [");
    for (flatbuffers::uoffset_t i = 0; g->inputs() && i < g->inputs()->size(); ++i)
      std::printf("%s%d", i ? ", " : "", g->inputs()->Get(i));
    std::printf("], \"outputs\": [");
    for (flatbuffers::uoffset_t i = 0; g->outputs() && i < g->outputs()->size(); ++i)
      std::printf("%s%d", i ? ", " : "", g->outputs()->Get(i));
    std::printf("],\n \"operators\": [");
    for (flatbuffers::uoffset_t i = 0; g->operators() && i < g->operators()->size(); ++i) {
      const qrt::fb::Operator* op = g->operators()->Get(i);
      std::printf("%s\n  {\"index\": %u, \"kind\": %s, \"name\": %s, \"inputs\": [", i ? "," : "", i,
                  json_string(qrt::fb::EnumNameOpCode(op->opcode())).c_str(),
                  json_string(str(op->name())).c_str());
      for (flatbuffers::uoffset_t k = 0; op->inputs() && k < op->inputs()->size(); ++k)
        std::printf("%s%d", k ? ", " : "", op->inputs()->Get(k));
      std::printf("], \"outputs\": [");
      for (flatbuffers::uoffset_t k = 0; op->outputs() && k < op->outputs()->size(); ++k)
        std::printf("%s%d", k ? ", " : "", op->outputs()->Get(k));
      std::printf("]");
      if (const qrt::fb::IfOptions* o = op->options_as_IfOptions())
        std::printf(", \"then_subgraph\": %d, \"else_subgraph\": %d", o->then_subgraph(),
                    o->else_subgraph());
      std::printf("}");
    }
    std::printf("],\n \"tensors\": [");
    for (flatbuffers::uoffset_t i = 0; tensors && i < tensors->size(); ++i) {
      const qrt::fb::Tensor* t = tensors->Get(i);
      std::printf("%s\n  {\"index\": %u, \"name\": %s, \"shape\": %s, \"dtype\": %s, \"constant\": %s",
                  i ? "," : "", i, json_string(str(t->name())).c_str(), shape_text(t, true).c_str(),
                  json_string(qrt::fb::EnumNameDType(t->dtype())).c_str(),
                  t->buffer() ? "true" : "false");
      const qrt::fb::Quantization* q = t->quantization();
      if (q && q->scale()) {
        std::printf(", \"axis\": %d, \"scales\": [", q->axis());
        for (flatbuffers::uoffset_t k = 0; k < q->scale()->size(); ++k)
          std::printf("%s%s", k ? ", " : "", num(q->scale()->Get(k)).c_str());
        std::printf("], \"zero_points\": [");
        for (flatbuffers::uoffset_t k = 0; q->zero_point() && k < q->zero_point()->size(); ++k)
          std::printf("%s%lld", k ? ", " : "", static_cast<long long>(q->zero_point()->Get(k)));
        std::printf("]");
      }
      std::printf("}");
    }
    std::printf("]");
  };

  auto text_graph = [&](const qrt::fb::SubGraph* g) {
    const auto* tensors = g->tensors();
    std::printf("\noperators (%u):\n", g->operators() ? g->operators()->size() : 0);
    for (flatbuffers::uoffset_t i = 0; g->operators() && i < g->operators()->size(); ++i) {
      const qrt::fb::Operator* op = g->operators()->Get(i);
      std::printf("  %3u %-18s %-28s", i, qrt::fb::EnumNameOpCode(op->opcode()), str(op->name()));
      for (flatbuffers::uoffset_t k = 0; op->outputs() && k < op->outputs()->size(); ++k) {
        const int32_t t = op->outputs()->Get(k);
        std::printf(" -> %s", str(tensors->Get(static_cast<flatbuffers::uoffset_t>(t))->name()));
      }
      if (const qrt::fb::IfOptions* o = op->options_as_IfOptions())
        std::printf("  [then subgraph %d, else subgraph %d]", o->then_subgraph(), o->else_subgraph());
      std::printf("\n");
    }
    std::printf("\ntensors (%u):\n", tensors ? tensors->size() : 0);
    for (flatbuffers::uoffset_t i = 0; tensors && i < tensors->size(); ++i) {
      const qrt::fb::Tensor* t = tensors->Get(i);
      std::printf("  %3u %-36s %-4s %-20s%s", i, str(t->name()), qrt::fb::EnumNameDType(t->dtype()),
                  shape_text(t, false).c_str(), t->buffer() ? " const" : "");
      const qrt::fb::Quantization* q = t->quantization();
      if (q && q->scale() && q->scale()->size() > 0) {
        if (q->scale()->size() == 1)
          std::printf("  scale %.9g zp %lld", static_cast<double>(q->scale()->Get(0)),
                      static_cast<long long>(q->zero_point()->Get(0)));
        else
          std::printf("  %u scales on axis %d", q->scale()->size(), q->axis());
      }
      std::printf("\n");
    }
  };

  if (json) {
    std::printf("{\"file\": %s, \"file_bytes\": %zu, \"format_version\": %u, \"profile\": %s, ",
                json_string(path.c_str()).c_str(), bytes.size(), m->format_version(),
                json_string(profile).c_str());
    std::printf("\"producer\": %s, \"description\": %s, ", json_string(str(m->producer())).c_str(),
                json_string(str(m->description())).c_str());
    std::printf("\"constant_bytes\": %zu, \"arena_bytes\": %zu, \"persistent_bytes\": %zu, "
                "\"lower_bound_bytes\": %zu, \"total_arena_bytes\": %zu, \"prepare_error\": %s,\n",
                constant_bytes, mem.arena_bytes, mem.persistent_bytes, mem.lower_bound_bytes,
                mem.total_bytes, json_string(prepare_error.c_str()).c_str());
    json_graph(graphs->Get(0));
    if (graphs->size() > 1) {
      std::printf(",\n \"subgraphs\": [");
      for (flatbuffers::uoffset_t gi = 1; gi < graphs->size(); ++gi) {
        std::printf("%s\n {\"index\": %u, \"name\": %s,\n", gi > 1 ? "," : "", gi,
                    json_string(str(graphs->Get(gi)->name())).c_str());
        json_graph(graphs->Get(gi));
        std::printf("}");
      }
      std::printf("]");
    }
    std::printf("}\n");
  } else {
    std::printf("%s: %zu bytes, format %u, profile %s, producer '%s'\n", path.c_str(), bytes.size(),
                m->format_version(), profile, str(m->producer()));
    std::printf("constants %zu bytes; arena %zu bytes (lower bound %zu) + persistent %zu = %zu\n",
                constant_bytes, mem.arena_bytes, mem.lower_bound_bytes, mem.persistent_bytes,
                mem.total_bytes);
    if (!prepare_error.empty()) std::printf("prepare fails: %s\n", prepare_error.c_str());
    text_graph(graphs->Get(0));
    for (flatbuffers::uoffset_t gi = 1; gi < graphs->size(); ++gi) {
      const qrt::fb::SubGraph* g = graphs->Get(gi);
      std::printf("\nsubgraph %u '%s' (an IF body), inputs:", gi, str(g->name()));
      for (flatbuffers::uoffset_t k = 0; g->inputs() && k < g->inputs()->size(); ++k)
        std::printf(" %s", str(g->tensors()->Get(static_cast<flatbuffers::uoffset_t>(g->inputs()->Get(k)))->name()));
      std::printf("; outputs:");
      for (flatbuffers::uoffset_t k = 0; g->outputs() && k < g->outputs()->size(); ++k)
        std::printf(" %s", str(g->tensors()->Get(static_cast<flatbuffers::uoffset_t>(g->outputs()->Get(k)))->name()));
      std::printf("\n");
      text_graph(g);
    }
  }
  qrt_interpreter_free(it);
  qrt_model_free(model);
  return 0;
}
