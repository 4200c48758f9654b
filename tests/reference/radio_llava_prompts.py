"""The questions radio-llava sends, written from reading its code; prints
tests/reference/radio_llava_prompts.json (run: python3 tests/reference/radio_llava_prompts.py).

Sources (SKA-INAF/radio-llava, read through the project's search tool):
- task texts (context, question prefix, class options, subfix, the zero-shot lead-in):
  radio_llava/inference_internvl.py @ 05aca6f25eb27d94053439a0ed4803f6fa934024, the one stored
  version defining all seven tasks (run_internvl_model_{rgz,smorph,galaxy,artefact,anomaly,
  mirabest,gmnist}_inference);
- how a question, a few-shot conversation and a gold answer are put together:
  radio_llava/inference_llava.py @ 4b5a9fb12f6f589b043615d7cbce8916d0d7739b
  (run_llavaov_model_inference) and radio_llava/inference_utils.py @ 085d0226d2e8403b885cd9deb802b14cff1800a2
  (format_context_model_response, filter_*_label);
- the few-shot lead-ins and the LLaVA path's retry text: commit e73afcb as ../shared/reference
  records it (no stored version of the file carries them).
Only the texts are data copied from the reference; the code below is this project's own.
"""
import json

LEAD_CONTEXT = "Answer the question using the provided context. "
LEAD_CONTEXT_EXAMPLES = "Answer the question using the provided context and examples. "
LEAD_EXAMPLES = "Answer the question using the provided examples. "
RETRY = ("The format of your response does not comply with the requested instructions, "
         "please answer again to the question and strictly follow the instructions: \n")
SYSTEM = "You are an AI assistant specialized in radio astronomical topics."

ONLY_LABEL = "Report only the identified class label, without any additional explanation text."
YES_NO = "Answer concisely: Yes or No."

TASKS = {
    "B1": dict(
        context="### Context: Consider these morphological classes of radio astronomical sources, defined as follows: \n EXTENDED: This class comprises either single-island compact objects with sharp edges, having a morphology and size dissimilar to that of the image synthesised beam (e.g. 10 times larger than the beam size or with elongated shape), or disjoint multi-island objects, where each island can have either a compact or extended morphology and can host single or multiple emission components. Typical examples are extended radio galaxies formed by a single elongated island or by multiple islands, hosting the galaxy core and lobe structures; \n DIFFUSE: a particular class of single-island extended objects with small angular size (e.g. smaller than few arcminutes), having diffuse edges and a roundish morphology; \n DIFFUSE-LARGE: large-scale (e.g. larger than few arcminutes and covering a large portion of the image) diffuse object with irregular shape. \n An island is a group of 4-connected pixels in an image under analysis with intensity above a detection threshold with respect to the sky background level.",
        prefix="### Question: Which of these morphological classes of radio sources do you see in the image? ",
        subfix="Report the identified class labels separated by commas, without any additional explanation text. Report just NONE if you cannot recognize any of the above classes in the image.",
        options=["EXTENDED", "DIFFUSE", "DIFFUSE-LARGE"], add_options=True, lead_in=True),
    "B2": dict(
        context="### Context: Consider these morphological classes of radio astronomical sources: \n 1C-1P: single-island sources having only one flux intensity peak; \n 1C-2C: single-island sources having two flux intensity peaks; \n 1C-3P: single-island sources having three flux intensity peaks; \n 2C-2P: sources consisting of two separated islands, each hosting a single flux intensity peak; \n 2C-3P: sources consisting of two separated islands, one containing a single peak of flux intensity and the other exhibiting two distinct intensity peaks; \n 3C-3P: sources consisting of three separated islands, each hosting a single flux intensity peak. \n An island is a group of 4-connected pixels in an image under analysis with intensity above a detection threshold with respect to the sky background level. " + "\n",
        prefix="### Question: Which of these morphological classes of radio sources do you see in the image? ",
        subfix=ONLY_LABEL,
        options=["1C-1P", "1C-2P", "1C-3P", "2C-2P", "2C-3P", "3C-3P"], add_options=True, lead_in=True),
    "B3": dict(
        context="",
        prefix="Do you see any likely radio galaxy with an extended morphology in the image? ",
        subfix=YES_NO, options=None, add_options=False, lead_in=False),
    "B4": dict(
        context="",
        prefix="Do you see any imaging artefact with a ring pattern around bright sources in the image? ",
        subfix=YES_NO, options=None, add_options=False, lead_in=False),
    "B5": dict(
        context="### Context: Consider this radio image peculiarity classes, defined as follows: \n ORDINARY: image containing only point-like or slightly-resolved compact radio sources superimposed over the sky background or imaging artefact patterns; \n COMPLEX: image containing one or more radio sources with extended or diffuse morphology; \n PECULIAR: image containing one or more radio sources with anomalous or peculiar extended morphology, often having diffuse edges, complex irregular shapes, covering a large portion of the image.\n",
        prefix="### Question: Can you identify which peculiarity class the presented image belongs to? ",
        subfix=ONLY_LABEL,
        options=["ORDINARY", "COMPLEX", "PECULIAR"], add_options=False, lead_in=True),
    "B6": dict(
        context="### Context: Consider these morphological classes of radio galaxies: \n FR-I: radio-loud galaxies characterized by a jet-dominated structure where the radio emissions are strongest close to the galaxy's center and diminish with distance from the core; \n FR-II: radio-loud galaxies characterized by a edge-brightened radio structure, where the radio emissions are more prominent in lobes located far from the galaxy's core, with hotspots at the ends of powerful, well-collimated jets. " + "\n",
        prefix="### Question: Which of these morphological classes of radio galaxy do you see in the image? ",
        subfix=ONLY_LABEL,
        options=["FR-I", "FR-II"], add_options=True, lead_in=True),
    "B7": dict(
        context="### Context: Consider these morphological classes of optical galaxies: \n SMOOTH_ROUND: smooth and round galaxy. Should not have signs of spires; \n SMOOTH_CIGAR: smooth and cigar-shaped galaxy, looks like being seen edge on. This should not have signs of spires of a spiral galaxy; \n EDGE_ON_DISK: edge-on-disk/spiral galaxy. This disk galaxy should have signs of spires, as seen from an edge-on perspective; \n UNBARRED_SPIRAL: unbarred spiral galaxy. Has signs of a disk and/or spires. \n Note that categories SMOOTH_CIGAR and EDGE_ON_DISK classes tend to be very similar to each other. To categorize them, ask yourself the following question: Is this galaxy very smooth, maybe with a small bulge? Then it belongs to class SMOOTH_CIGAR. Does it have irregularities/signs of structure? Then it belongs to class EDGE_ON_DISK." + "\n",
        prefix="### Question: Which of these morphological classes of optical galaxy do you see in the image? ",
        subfix=ONLY_LABEL,
        options=["SMOOTH_ROUND", "SMOOTH_CIGAR", "EDGE_ON_DISK", "UNBARRED_SPIRAL"], add_options=True, lead_in=True),
}


def subfix(task, describe, few_shot):
    lead = ""
    if task["lead_in"]:
        if describe and few_shot:
            lead = LEAD_CONTEXT_EXAMPLES
        elif describe:
            lead = LEAD_CONTEXT
        elif few_shot:
            lead = LEAD_EXAMPLES
    return lead + task["subfix"]


def question(task, describe, few_shot, with_description=True):
    """run_llavaov_model_inference's question (with_description=False: a later few-shot turn)."""
    description = task["context"] if describe else ""
    tail = subfix(task, describe, few_shot)
    if task["add_options"]:
        labels = " \n ".join(task["options"])
        if not with_description:
            return task["prefix"] + " \n " + labels + " \n " + tail
        return description + " \n" + task["prefix"] + " \n " + labels + " \n " + tail
    return description + " \n" + task["prefix"] + " \n " + tail


def smorph(tags):
    """filter_smorph_label, in the dataset's own order."""
    kept = list(tags)
    if "RADIO-GALAXY" in kept and "EXTENDED" not in kept:
        kept.append("EXTENDED")
    for t in ["RADIO-GALAXY", "DUBIOUS", "WTF", "FILAMENT", "RING", "ARC", "ARTEFACT", "BORDER", "MOSAICING"]:
        if t in kept:
            kept.remove(t)
    if len(kept) == 1 and kept[0] in ("COMPACT", "BACKGROUND"):
        kept[0] = "NONE"
    for t in ["COMPACT", "BACKGROUND"]:
        if t in kept:
            kept.remove(t)
    return kept


def few_shot(task_id, shot_answers, describe):
    task = TASKS[task_id]
    messages = [{"role": "system", "content": SYSTEM}]
    for i, answer in enumerate(shot_answers):
        messages.append({"role": "user", "image": i, "content": question(task, describe, True, with_description=(i == 0))})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "image": len(shot_answers), "content": question(task, describe, True)})
    retry = [{"role": "system", "content": SYSTEM},
             {"role": "user", "image": len(shot_answers), "content": RETRY + subfix(task, describe, True)}]
    return {"messages": messages, "retry": retry}


out = {
    "sources": {
        "texts": "radio_llava/inference_internvl.py@05aca6f25eb27d94053439a0ed4803f6fa934024",
        "assembly": "radio_llava/inference_llava.py@4b5a9fb12f6f589b043615d7cbce8916d0d7739b",
        "gold_answers": "radio_llava/inference_utils.py@085d0226d2e8403b885cd9deb802b14cff1800a2",
        "lead_ins_and_retry": "e73afcb (../shared/reference/radio-llava-benchmarks.md)",
    },
    "zero_shot": {},
    "few_shot": {},
}
for tid, task in TASKS.items():
    out["zero_shot"][f"{tid}/v1"] = question(task, False, False)
    out["zero_shot"][f"{tid}/v1/describe"] = question(task, True, False)
# K = 2 shots: B1's multi-label answers keep the dataset's tag order (format_context_model_response).
b1_answers = [",".join(smorph(["COMPACT", "RADIO-GALAXY"])), ",".join(smorph(["DIFFUSE", "EXTENDED", "COMPACT"]))]
for describe in (False, True):
    key = "/describe" if describe else ""
    out["few_shot"]["B1/v1" + key] = dict(few_shot("B1", b1_answers, describe), shot_tags=[["COMPACT", "RADIO-GALAXY"], ["DIFFUSE", "EXTENDED", "COMPACT"]])
    out["few_shot"]["B3/v1" + key] = dict(few_shot("B3", ["YES", "NO"], describe), shot_tags=[["RADIO-GALAXY", "EXTENDED"], ["COMPACT"]])
print(json.dumps(out, indent=1, ensure_ascii=False))
