"""Pick the answer from retrieved passages: the trained reader's span, conflicts, a timeline, or "not found".

What the model cannot do stays as rules, one family per module, each stating its general rule:
:mod:`.names` (the question's names must be in the passage), :mod:`.dates` (years, targets against
outcomes), :mod:`.forms` (values, units and the form asked), :mod:`.conflicts` (and timelines);
:mod:`.pipeline` runs them in order.
"""

from .forms import ANSWER_SHAPES, answer_shape, to_form, value_key
from .names import of_swapped_subject
from .pipeline import Answerer
from .readings import Answer, AnswerWeights, Reading

__all__ = ["ANSWER_SHAPES", "Answer", "Answerer", "AnswerWeights", "Reading", "answer_shape",
           "of_swapped_subject", "to_form", "value_key"]
