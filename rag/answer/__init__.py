"""Pick the answer from retrieved passages: the trained reader's span, conflicts, a timeline, or "not found".

What the model cannot do stays as rules, one family per module, each stating its general rule:
:mod:`.names` (the question's names must be in the passage), :mod:`.dates` (years, periods, targets
against outcomes), :mod:`.people` (posts), :mod:`.forms` (values, units and the form asked),
:mod:`.lists`, :mod:`.notices`, :mod:`.conflicts`; :mod:`.pipeline` runs them in order.
"""

from .forms import ANSWER_SHAPES, answer_shape, label_before, to_form, value_key
from .names import of_other_subject, of_swapped_subject
from .pipeline import Answerer
from .readings import Answer, AnswerWeights, Reading

__all__ = ["ANSWER_SHAPES", "Answer", "Answerer", "AnswerWeights", "Reading", "answer_shape", "label_before",
           "of_other_subject", "of_swapped_subject", "to_form", "value_key"]
