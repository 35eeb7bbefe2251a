"""Section 4: a real model. An MLP trained with memograd on the bundled 8x8 digits."""

from __future__ import annotations

from typing import Any

import numpy as np

from memograd.demo.settings import DemoSettings
from memograd.viz import html, plots
from memograd.viz.units import format_seconds

ANCHOR = "model"
HEADING = "A real model: handwritten digits"
TEST_FRACTION = 0.2


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    import memograd as mg
    from memograd.data import Standardizer, load_digits, train_test_split
    from memograd.nn import MLP, fit

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, seed=settings.seed, stratify=True
    )
    scaler = Standardizer().fit(X_train)
    train_inputs = scaler.transform(X_train).astype(np.float32)
    test_inputs = scaler.transform(X_test).astype(np.float32)
    sizes = [X.shape[1], *settings.hidden, 10]
    model = MLP(sizes, activation="relu", dropout=settings.dropout, rng=settings.seed)
    history = fit(
        model,
        train_inputs,
        y_train,
        loss="cross_entropy",
        optimizer="adam",
        lr=settings.learning_rate,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        validation=(test_inputs, y_test),
        seed=settings.seed,
        verbose=False,
    )
    model.eval()
    with mg.no_grad():
        predicted = model(mg.Tensor(test_inputs)).data.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, predicted), 1)
    wrong = np.flatnonzero(predicted != y_test)
    shown = wrong[: settings.misclassified_shown]
    data = {
        "sizes": sizes,
        "activation": "relu",
        "dropout": settings.dropout,
        "optimizer": "adam",
        "learning_rate": settings.learning_rate,
        "batch_size": settings.batch_size,
        "train_examples": int(len(y_train)),
        "test_examples": int(len(y_test)),
        "parameters": int(sum(p.data.size for p in model.parameters())),
        "history": history.as_dict(),
        "test_accuracy": float(np.mean(predicted == y_test)),
        "confusion_matrix": confusion.tolist(),
        "misclassified": [
            {"test_index": int(i), "true": int(y_test[i]), "predicted": int(predicted[i])}
            for i in shown
        ],
        "misclassified_total": int(len(wrong)),
    }
    objects = {"images": [X_test[i] for i in shown]}
    return data, objects


def training_caption(history: dict[str, Any]) -> str:
    """What the loss and accuracy curves of this run show, read from their numbers."""
    train, test = history["train_loss"], history["val_loss"]
    best = min(range(len(test)), key=test.__getitem__)
    rise = test[-1] / test[best] - 1
    half = len(test) // 2
    levels_off = half >= 1 and test[half - 1] - test[-1] < 0.2 * (test[0] - test[-1])
    if best == len(test) - 1 and levels_off:
        held_out = (
            f"the held-out test loss falls to {test[half - 1]:.3f} by epoch {half} and then "
            f"levels off, ending at {test[-1]:.3f}"
        )
    elif best == len(test) - 1:
        held_out = f"the held-out test loss falls too, to {test[-1]:.3f} at the last epoch"
    elif rise > 0.05:
        held_out = (
            f"the held-out test loss is lowest at epoch {best + 1} ({test[best]:.3f}) and rises "
            f"to {test[-1]:.3f} by the end: past that epoch the model fits the training images "
            "better without getting better on new ones"
        )
    else:
        end = "the same at the end" if rise < 0.005 else f"within {rise:.0%} of that at the end"
        held_out = (
            f"the held-out test loss levels off: lowest at epoch {best + 1} ({test[best]:.3f}) "
            f"and {end}"
        )
    gap = test[-1] - train[-1]
    if gap > 0:
        ending = (
            f"The gap between the two at the end, {gap:.3f}, is what the model learned about "
            "the training images alone"
        )
    else:
        ending = (
            f"The held-out loss ends {-gap:.3f} below the training loss, which is measured "
            "while training, with dropout on"
        )
    accuracy = history["train_accuracy"][-1], history["val_accuracy"][-1]
    return (
        f"Training loss falls from {train[0]:.3f} to {train[-1]:.3f}; {held_out}. {ending}; "
        f"accuracy ends at {100 * accuracy[0]:.1f}% on the training images and "
        f"{100 * accuracy[1]:.1f}% on the held-out ones."
    )


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    history = data["history"]
    arch = "-".join(str(s) for s in data["sizes"])
    epochs = list(range(1, history["epochs"] + 1))
    dropout = f"dropout {data['dropout']:g}, " if data["dropout"] else ""
    section.paragraph(
        f"The same engine trains real networks. An MLP {arch} (ReLU, {dropout}"
        f"{data['parameters']:,} parameters) learned the bundled 8×8 handwritten digits "
        f"(UCI, 1,797 images) from {data['train_examples']:,} training images, with Adam "
        f"(learning rate {data['learning_rate']:g}), mini-batches of {data['batch_size']} and "
        f"{history['epochs']} epochs; every gradient came from the memoized backward sweep. "
        f"{data['test_examples']} images were held out and never trained on."
    )
    section.facts(
        [
            ("test accuracy", f"{100 * data['test_accuracy']:.1f}%"),
            ("final training loss", f"{history['train_loss'][-1]:.3f}"),
            (
                "misclassified test images",
                f"{data['misclassified_total']} of {data['test_examples']}",
            ),
            ("training time", format_seconds(history["seconds"])),
        ]
    )
    section.figure_pair(
        plots.training_plots(
            epochs,
            {"train": history["train_loss"], "test": history["val_loss"]},
            {"train": history["train_accuracy"], "test": history["val_accuracy"]},
        ),
        "Loss and accuracy per epoch",
        training_caption(history),
    )
    section.figure(
        plots.confusion_plot(np.array(data["confusion_matrix"]), [str(d) for d in range(10)]),
        "Confusion matrix",
        "Row = true digit, column = the model's answer; everything off the diagonal is a "
        "mistake, and the few there show which digits look alike to the model.",
    )
    if data["misclassified"]:
        section.figure(
            plots.digits_plot(
                objects["images"],
                [m["true"] for m in data["misclassified"]],
                [m["predicted"] for m in data["misclassified"]],
            ),
            "Some misclassified test digits",
            f"The first {len(data['misclassified'])} of the {data['misclassified_total']} test "
            "images the model got wrong, drawn from their 8×8 pixels with the true and the "
            "predicted digit.",
        )
