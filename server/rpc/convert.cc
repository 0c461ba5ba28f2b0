#include "server/rpc/convert.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "codegen/include/sejits/kernel_abi.h"
#include "server/rpc/interface_proto.h"
#include "specializers/common/dtype.h"
#include "specializers/platforms.h"

namespace sejits::server::rpc {
namespace {
constexpr size_t kMaxNameBytes = 256;
constexpr int kMaxSamplesPerReport = 1024;

v1::TuningPlan::State state_of(PlanState state) {
  switch (state) {
    case PlanState::kUntuned: return v1::TuningPlan::UNTUNED;
    case PlanState::kChosen: return v1::TuningPlan::CHOSEN;
    case PlanState::kTrying: return v1::TuningPlan::TRYING;
    case PlanState::kOfflinePending: return v1::TuningPlan::OFFLINE_PENDING;
  }
  return v1::TuningPlan::UNTUNED;
}
// An array's extents and strides must describe memory that 63-bit byte
// offsets can address: the element count, and each axis's stride times its
// last index, are bounded, and their sum too.
absl::Status check_extents(const v1::ArgDescriptor &arg, int k) {
  constexpr int64_t kMaxBytes = int64_t{1} << 62;
  const int64_t item = std::max(1, specializers::is_supported_dtype(arg.dtype())
                                       ? specializers::itemsize(static_cast<specializers::DType>(arg.dtype()))
                                       : 1);
  int64_t elements = 1;
  for (int64_t extent : arg.shape()) {
    if (extent < 0) return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": negative extent ", extent));
    if (extent > 0 && elements > kMaxBytes / item / extent) {
      return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": its extents multiply to more than 2^62 bytes"));
    }
    elements *= extent;
  }
  if (elements == 0) return absl::OkStatus();  // an empty array touches no memory
  int64_t span = 0;
  for (int d = 0; d < arg.strides_size(); ++d) {
    int64_t stride = arg.strides(d), last = arg.shape(d) - 1;
    if (stride == INT64_MIN || (last > 0 && std::abs(stride) > (kMaxBytes - span) / last)) {
      return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": stride ", stride, " of axis ", d,
                                                     " reaches beyond 2^62 bytes"));
    }
    span += std::abs(stride) * last;
  }
  return absl::OkStatus();
}

absl::StatusOr<specializers::ArgSpec> arg_from_proto(const v1::ArgDescriptor &arg, int k) {
  specializers::ArgSpec spec;
  if (arg.kind() != v1::ARRAY && arg.kind() != v1::SCALAR) {
    return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": kind must be ARRAY or SCALAR"));
  }
  spec.kind = arg.kind() == v1::ARRAY ? specializers::ArgKind::kArray : specializers::ArgKind::kScalar;
  spec.dtype_code = arg.dtype();
  spec.weak = arg.weak();
  spec.rank = arg.rank();
  if (spec.kind == specializers::ArgKind::kArray) {
    if (arg.rank() < 0 || arg.rank() > SEJITS_MAX_RANK) {
      return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": rank ", arg.rank(), " outside 0..", SEJITS_MAX_RANK));
    }
    if (arg.shape_size() != arg.rank() || (arg.strides_size() != 0 && arg.strides_size() != arg.rank())) {
      return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": shape and strides must have rank entries"));
    }
    if (absl::Status extents = check_extents(arg, k); !extents.ok()) return extents;
  } else if (arg.rank() != 0 || arg.shape_size() != 0 || arg.strides_size() != 0) {
    return absl::InvalidArgumentError(absl::StrCat("argument ", k, ": a scalar has no rank, shape or strides"));
  }
  spec.shape.assign(arg.shape().begin(), arg.shape().end());
  spec.strides.assign(arg.strides().begin(), arg.strides().end());
  spec.c_contiguous = arg.c_contiguous();
  return spec;
}

}  // namespace

TuningAsk from_proto(const v1::TuningRequest &tuning) {
  TuningAsk ask;
  ask.mode = tuning.mode() == v1::TUNING_ONLINE       ? TuningMode::kOnline
             : tuning.mode() == v1::TUNING_EXHAUSTIVE ? TuningMode::kExhaustive
                                                      : TuningMode::kOff;
  ask.shape_class = tuning.shape_class();
  ask.kernel_name = tuning.kernel_name().substr(0, kMaxNameBytes);
  ask.entry = tuning.entry();
  ask.device = tuning.device().substr(0, kMaxNameBytes);
  return ask;
}

absl::StatusOr<std::vector<VariantTiming>> from_proto(const google::protobuf::RepeatedPtrField<v1::VariantReport> &reports,
                                                      const RequestLimits &limits) {
  if (reports.size() > limits.max_variants) {
    return absl::InvalidArgumentError(absl::StrCat("the report times ", reports.size(), " variants (at most ", limits.max_variants,
                                                   ": --max_variants)"));
  }
  std::vector<VariantTiming> timings;
  for (const v1::VariantReport &report : reports) {
    if (report.samples_size() > kMaxSamplesPerReport) {
      return absl::InvalidArgumentError(absl::StrCat("too many samples in one report (at most ", kMaxSamplesPerReport, ")"));
    }
    timings.push_back({report.variant(), {report.samples().begin(), report.samples().end()}, report.error().substr(0, 1000)});
  }
  return timings;
}

void to_proto(const TuningPlan &plan, v1::TuningPlan &response) {
  response.set_state(state_of(plan.state));
  response.set_variant(plan.label);
  response.mutable_variant_params()->insert(plan.variant_params.begin(), plan.variant_params.end());
  for (const std::string &candidate : plan.candidates) response.add_candidates(candidate);
  response.set_samples_per_variant(plan.samples_per_variant);
  response.set_reason(plan.reason);
  for (const TuningParameter &parameter : plan.space.parameters) {
    v1::TuningParameter *out = response.add_space();
    out->set_name(parameter.name);
    for (const std::string &value : parameter.values) out->add_values(value);
    out->set_default_value(parameter.default_value);
  }
  for (const auto &[label, params] : plan.candidate_params) {
    (*response.mutable_candidate_params())[label].mutable_params()->insert(params.begin(), params.end());
  }
  response.set_shape_class(plan.shape_class);
  if (plan.record) to_proto(*plan.record, *response.mutable_record());
}

// The same message as the rows of the tuning database's own JSONL export
// (record_to_proto there): keep the two alike.
void to_proto(const TuningRecord &record, v1::TuningRecord &proto) {
  proto.set_kernel_key(record.key.kernel_key);
  proto.set_kernel_name(record.kernel_name);
  proto.set_shape_class(record.key.shape_class);
  proto.set_platform(record.key.platform);
  proto.set_platform_description(record.platform_description);
  proto.set_origin(record.origin);
  for (const VariantStats &stats : record.variants) {
    v1::VariantTimings *timings = proto.add_variants();
    timings->set_variant(stats.label);
    timings->mutable_samples()->Add(stats.samples.begin(), stats.samples.end());
    timings->set_errors(stats.errors);
    timings->set_last_error(stats.last_error);
    timings->set_median_seconds(stats.median);
  }
  if (record.choice) {
    v1::TuningChoice *choice = proto.mutable_choice();
    choice->set_variant(record.choice->label);
    choice->set_chosen_at(record.choice->chosen_at);
    choice->set_samples(record.choice->samples);
    choice->set_reason(record.choice->reason);
  }
}

void to_proto(const TuningListing &listing, v1::TuningRecords &response) {
  for (const TuningRecord &record : listing.records) to_proto(record, *response.add_records());
  response.set_database(listing.database);
  response.set_platform(listing.platform);
  response.set_platform_description(listing.platform_description);
}

void to_proto(const TuningImportSummary &summary, v1::ImportTuningResponse &response) {
  response.set_imported(summary.imported);
  response.set_kept_existing(summary.kept_existing);
  response.set_malformed(summary.malformed);
}

absl::StatusOr<specializers::SpecializationRequest> from_proto(const v1::SpecializeRequest &request,
                                                               const RequestLimits &limits) {
  if (request.specializer().empty()) return absl::InvalidArgumentError("request names no specializer");
  if (request.specializer().size() > kMaxNameBytes) return absl::InvalidArgumentError("specializer name too long");
  if (request.args_size() > limits.max_arguments) {
    return absl::InvalidArgumentError(absl::StrCat("too many arguments (", request.args_size(), ", at most ",
                                                   limits.max_arguments, ": --max_arguments)"));
  }
  if (request.params_size() > limits.max_variants) {
    return absl::InvalidArgumentError(absl::StrCat("too many parameters (", request.params_size(), ", at most ",
                                                   limits.max_variants, ": --max_variants)"));
  }
  specializers::SpecializationRequest out;
  out.specializer = request.specializer();
  if (request.has_function()) out.function = std::make_shared<v1::FunctionAst>(request.function());
  out.platform = request.target().platform().empty() ? specializers::kDefaultPlatform : request.target().platform();
  for (int k = 0; k < request.args_size(); ++k) {
    auto spec = arg_from_proto(request.args(k), k);
    if (!spec.ok()) return spec.status();
    out.args.push_back(std::move(*spec));
  }
  for (const auto &[name, value] : request.params()) out.params[name] = value;
  const v1::WorkerPlatform &worker = request.target().worker();
  for (const std::string *field : {&worker.machine(), &worker.os(), &worker.libc(), &worker.isa_level(), &worker.cpu_digest()}) {
    if (field->size() > kMaxNameBytes) return absl::InvalidArgumentError("a worker platform field is too long");
  }
  out.worker = {worker.machine(), worker.os(), worker.libc(), worker.isa_level(), worker.cpu_digest()};
  return out;
}

absl::StatusOr<specializers::SpecializationRequest> from_proto(v1::SpecializeRequest &&request, const RequestLimits &limits) {
  std::shared_ptr<const v1::FunctionAst> function;
  if (request.has_function()) function = std::make_shared<v1::FunctionAst>(std::move(*request.mutable_function()));
  request.clear_function();
  auto out = from_proto(request, limits);
  if (out.ok()) out->function = std::move(function);
  return out;
}

v1::SpecializeRequest to_proto(const specializers::SpecializationRequest &request) {
  v1::SpecializeRequest out;
  out.set_specializer(request.specializer);
  if (request.function) *out.mutable_function() = *request.function;
  for (const specializers::ArgSpec &spec : request.args) {
    v1::ArgDescriptor *arg = out.add_args();
    arg->set_kind(spec.kind == specializers::ArgKind::kArray ? v1::ARRAY : v1::SCALAR);
    arg->set_dtype(static_cast<v1::DType>(spec.dtype_code));
    arg->set_weak(spec.weak);
    arg->set_rank(spec.rank);
    for (int64_t extent : spec.shape) arg->add_shape(extent);
    for (int64_t stride : spec.strides) arg->add_strides(stride);
    arg->set_c_contiguous(spec.c_contiguous);
  }
  out.mutable_target()->set_platform(request.platform);
  v1::WorkerPlatform *worker = out.mutable_target()->mutable_worker();
  worker->set_machine(request.worker.machine);
  worker->set_os(request.worker.os);
  worker->set_libc(request.worker.libc);
  worker->set_isa_level(request.worker.isa_level);
  worker->set_cpu_digest(request.worker.cpu_digest);
  out.mutable_params()->insert(request.params.begin(), request.params.end());
  return out;
}

void to_proto(const SpecializeResult &result, v1::SpecializeResponse &response) {
  response.set_key(result.key);
  response.set_artifact_digest(result.artifact.digest);
  response.set_artifact_path(result.artifact.path.string());
  response.set_artifact_bytes(result.artifact.bytes);
  // entry_symbol and result: for clients older than the interface.
  if (auto call = result.interface.entry("call"); call.ok()) response.set_entry_symbol((*call)->symbol);
  response.set_outcome(static_cast<v1::CacheOutcome>(result.outcome));
  response.set_compile_seconds(result.compile_seconds);
  response.set_specialize_seconds(result.elapsed_seconds);
  response.set_source(result.source);
  response.mutable_result()->set_dtype(static_cast<v1::DType>(result.interface.result_dtype()));
  to_proto(result.interface, *response.mutable_interface());
  for (const auto &note : result.notes) response.add_notes(note);
  response.set_specializer_version(result.specializer_version);
  response.set_build_identity(result.build_identity);
  to_proto(result.tuning, *response.mutable_tuning());
}

void to_proto(const DaemonStats &stats, v1::Stats &response) {
  response.set_version(stats.version);
  response.set_build_identity(stats.build_identity);
  response.set_uptime_seconds(stats.uptime_seconds);
  response.set_requests(stats.counters.requests);
  response.set_cache_hits(stats.counters.cache_hits);
  response.set_cache_misses(stats.counters.cache_misses);
  response.set_compiles(stats.counters.compiles);
  response.set_compile_failures(stats.counters.compile_failures);
  response.set_joined_in_flight(stats.counters.joined_in_flight);
  response.set_rejected(stats.counters.rejected);
  response.set_compile_median_seconds(stats.counters.compile_median_seconds);
  response.set_cache_entries(stats.store.entries);
  response.set_cache_bytes(stats.store.bytes);
  response.set_corrupt_artifacts(stats.store.corrupt_removed);
  response.set_evictions(stats.store.evictions);
  response.set_cache_dir(stats.cache_dir);
  for (const auto &address : stats.listen_addresses) response.add_listen_addresses(address);
  response.set_pid(getpid());
  response.set_unauthenticated(stats.counters.unauthenticated);
  response.set_upstream_requests(stats.counters.upstream_requests);
  response.set_upstream_failures(stats.counters.upstream_failures);
  response.set_upstream(stats.upstream);
  response.set_compiler(stats.compiler);
}

}  // namespace sejits::server::rpc
