// Lowering of the gmm specializer to C++/OpenMP: one exported entry point
// per role (the EM loop as "call", em_iteration, e_step, m_step,
// score_samples, predict), each instantiating sejits/gmm_runtime.h for the
// IR's dtype, covariance type, D and M.
#pragma once

#include <string>
#include <vector>

#include "codegen/target_ast.h"
#include "specializers/gmm/ir.h"
#include "specializers/gmm/plan.h"

namespace sejits::specializers::gmm {

// The artifact's symbol of each role.
inline constexpr char kFitSymbol[] = "sejits_gmm_fit";
inline constexpr char kEmIterationSymbol[] = "sejits_gmm_em_iteration";
inline constexpr char kEStepSymbol[] = "sejits_gmm_e_step";
inline constexpr char kMStepSymbol[] = "sejits_gmm_m_step";
inline constexpr char kScoreSamplesSymbol[] = "sejits_gmm_score_samples";
inline constexpr char kPredictSymbol[] = "sejits_gmm_predict";

codegen::TranslationUnit lower_gmm(const GmmIr &ir, const GmmPlan &plan, std::vector<std::string> &notes);

}  // namespace sejits::specializers::gmm
